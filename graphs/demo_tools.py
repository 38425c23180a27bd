"""Small offline tools used by the shipped examples (hotel search, flaky service)."""

from __future__ import annotations

import zlib
from collections import Counter
from typing import Any

from langchain_core.tools import tool

from graphs.errors import RetryableError

_HOTELS: list[dict[str, Any]] = [
    {"name": "Harbour View", "city": "lisbon", "price": 180, "rating": 4.6},
    {"name": "Old Town Rooms", "city": "lisbon", "price": 95, "rating": 4.1},
    {"name": "Grand Atlantic", "city": "lisbon", "price": 320, "rating": 4.8},
    {"name": "Canal House", "city": "amsterdam", "price": 210, "rating": 4.5},
    {"name": "Tulip Inn", "city": "amsterdam", "price": 130, "rating": 3.9},
]
_flaky_calls: Counter[str] = Counter()


@tool
def hotel_search(query: str) -> dict[str, Any]:
    """Find hotels whose city or name contains the query (a fixed offline list)."""
    needle = query.strip().lower()
    hits = [h for h in _HOTELS if needle in h["city"] or needle in h["name"].lower()]
    return {"query": query, "hotels": hits}


@tool
def filter_by_price(hotels: list[dict[str, Any]], max_price: float) -> dict[str, Any]:
    """Keep the hotels at or under `max_price`, cheapest first."""
    kept = sorted((h for h in hotels if h.get("price", 0) <= max_price), key=lambda h: h["price"])
    return {"hotels": kept, "count": len(kept)}


@tool
def book_hotel(hotel: dict[str, Any] | None) -> dict[str, Any]:
    """Pretend to book a hotel and return a confirmation."""
    if not hotel:
        return {"booked": False, "reason": "no hotel to book"}
    name = str(hotel.get("name"))
    return {"booked": True, "hotel": name, "confirmation": f"GY-{zlib.crc32(name.encode()):08x}"}


@tool
def notify(text: str) -> dict[str, Any]:
    """Pretend to send a message; returns what would have been sent."""
    return {"sent": True, "text": text}


@tool
def flaky(key: str, failures: int = 2) -> dict[str, Any]:
    """Fail with a retryable error the first `failures` calls for `key` in this process."""
    _flaky_calls[key] += 1
    if _flaky_calls[key] <= failures:
        raise RetryableError(f"flaky service unavailable (call {_flaky_calls[key]} for {key!r})")
    return {"key": key, "calls": _flaky_calls[key]}

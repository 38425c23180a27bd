"""Prometheus text exposition of a few counters and gauges, written by hand."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class Gauge:
    """One gauge family: samples keyed by their label set (`()` for none)."""

    name: str
    help: str
    samples: dict[tuple[tuple[str, str], ...], float] = field(default_factory=dict)

    def set(self, value: float, **labels: str) -> None:
        """Set the sample with these labels."""
        self.samples[tuple(sorted(labels.items()))] = value


class Metrics:
    """In-process counters; gauges are built at scrape time (from the database, the executor)."""

    def __init__(self) -> None:
        self.http_requests: Counter[tuple[str, int]] = Counter()

    def count_request(self, method: str, status: int) -> None:
        """Count one finished HTTP request."""
        self.http_requests[(method, status)] += 1

    def render(self, gauges: list[Gauge]) -> str:
        """The Prometheus text format (version 0.0.4) of the counters and `gauges`."""
        lines = [
            "# HELP graphyard_http_requests_total HTTP requests handled, by method and status.",
            "# TYPE graphyard_http_requests_total counter",
        ]
        for (method, status), count in sorted(self.http_requests.items()):
            labels = _labels({"method": method, "status": str(status)})
            lines.append(f"graphyard_http_requests_total{labels} {count}")
        for gauge in gauges:
            lines.append(f"# HELP {gauge.name} {gauge.help}")
            lines.append(f"# TYPE {gauge.name} gauge")
            for label_set, value in sorted(gauge.samples.items()):
                lines.append(f"{gauge.name}{_labels(dict(label_set))} {_number(value)}")
        return "\n".join(lines) + "\n"


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))

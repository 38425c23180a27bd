"""A small offline agent graph (listed in langgraph.json): drafts an answer with `fake:echo`,
and asks a person to approve it first when the input sets `review: true`."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import interrupt

from graphs.models import FakeEchoChatModel


class AgentState(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    question: str
    review: bool
    approved: bool
    answer: str


async def draft(state: AgentState) -> dict[str, Any]:
    """Answer the question (or the last message) with the offline echo model."""
    question = state.get("question") or (
        state["messages"][-1].text if state.get("messages") else ""
    )
    prompt = [SystemMessage("You are a helpful assistant."), HumanMessage(f"Answer: {question}")]
    reply = await FakeEchoChatModel().ainvoke(prompt)
    return {"messages": [HumanMessage(question), reply], "answer": reply.text}


def review(state: AgentState) -> dict[str, Any]:
    """Pause for a person when asked to; the resume value is the person's decision."""
    if not state.get("review"):
        return {"approved": True}
    decision = interrupt({"prompt": "Approve this answer?", "answer": state.get("answer")})
    approved = isinstance(decision, dict) and decision.get("decision") == "approve"
    note = "approved" if approved else "rejected"
    return {"approved": approved, "messages": [AIMessage(f"The answer was {note}.")]}


builder = StateGraph(AgentState)
builder.add_node("draft", draft)
builder.add_node("review", review)
builder.add_edge(START, "draft")
builder.add_edge("draft", "review")
builder.add_edge("review", END)
graph = builder.compile()

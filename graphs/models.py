"""Chat models: the built-in offline `fake:echo`, and "provider:model" via LangChain."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

# Provider -> the package that must be installed for it (LangChain's integration packages).
PROVIDER_PACKAGES = {
    "openai": "langchain-openai",
    "azure_openai": "langchain-openai",
    "anthropic": "langchain-anthropic",
    "google_genai": "langchain-google-genai",
    "google_vertexai": "langchain-google-vertexai",
    "bedrock": "langchain-aws",
    "bedrock_converse": "langchain-aws",
    "mistralai": "langchain-mistralai",
    "groq": "langchain-groq",
    "ollama": "langchain-ollama",
    "cohere": "langchain-cohere",
    "fireworks": "langchain-fireworks",
    "together": "langchain-together",
    "deepseek": "langchain-deepseek",
    "xai": "langchain-xai",
    "huggingface": "langchain-huggingface",
}


class ModelUnavailable(ValueError):
    """A model spec that cannot be served on this installation."""


class FakeEchoChatModel(BaseChatModel):
    """Answers with the last message's text, streamed word by word; no network."""

    model_name: str = "echo"

    @property
    def _llm_type(self) -> str:
        return "graphyard-fake-echo"

    def _words(self, messages: list[BaseMessage]) -> list[str]:
        text = messages[-1].text if messages else ""
        words = text.split(" ")
        return [w if i == len(words) - 1 else w + " " for i, w in enumerate(words)]

    def _usage(self, messages: list[BaseMessage], answer: str) -> UsageMetadata:
        prompt_tokens = sum(len(m.text.split()) for m in messages)
        answer_tokens = len(answer.split())
        return UsageMetadata(
            input_tokens=prompt_tokens,
            output_tokens=answer_tokens,
            total_tokens=prompt_tokens + answer_tokens,
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        answer = "".join(self._words(messages))
        message = AIMessage(content=answer, usage_metadata=self._usage(messages, answer))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        words = self._words(messages)
        for i, word in enumerate(words):
            usage = self._usage(messages, "".join(words)) if i == len(words) - 1 else None
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=word, usage_metadata=usage))
            if run_manager:
                run_manager.on_llm_new_token(word, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._stream(messages, stop, None, **kwargs):
            if run_manager:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def split_model_spec(spec: str) -> tuple[str, str]:
    provider, sep, name = spec.partition(":")
    if not sep or not provider or not name:
        raise ModelUnavailable(f"model {spec!r} must be written 'provider:model', e.g. 'fake:echo'")
    return provider, name


def check_model(spec: str) -> None:
    """Raise ModelUnavailable naming what is missing; imports nothing named by the spec."""
    provider, name = split_model_spec(spec)
    if provider == "fake":
        if name != "echo":
            raise ModelUnavailable(f"the only fake model is 'fake:echo', not {spec!r}")
        return
    package = PROVIDER_PACKAGES.get(provider)
    if package is None:
        known = ", ".join(["fake", *sorted(PROVIDER_PACKAGES)])
        raise ModelUnavailable(f"unknown model provider {provider!r}; known: {known}")
    if importlib.util.find_spec(package.replace("-", "_")) is None:
        raise ModelUnavailable(
            f"model {spec!r} needs the package {package!r}: pip install {package}"
        )
    if importlib.util.find_spec("langchain") is None:
        raise ModelUnavailable(
            f"model {spec!r} needs the package 'langchain': pip install langchain"
        )


def load_model(spec: str) -> BaseChatModel:
    """A chat model for "provider:model"; `fake:echo` is built in."""
    check_model(spec)
    provider, name = split_model_spec(spec)
    if provider == "fake":
        return FakeEchoChatModel()
    from langchain.chat_models import init_chat_model

    try:
        model: BaseChatModel = init_chat_model(name, model_provider=provider)
        return model
    except ImportError as exc:
        raise ModelUnavailable(str(exc)) from exc

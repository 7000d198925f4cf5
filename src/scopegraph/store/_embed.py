"""Semantic search's text side: which texts of a value are embedded (JSON paths), and the
one adapter that turns an ``index["embed"]`` into sync and async embedding calls.

Paths (LangGraph's syntax): ``"$"`` the whole value; ``"a.b"`` nested keys; ``"a[0]"``,
``"a[-1]"`` and ``"a[*]"`` list items; ``"a.*"`` every value of a dict; ``"a.{b,c}"``
several keys of one dict. A value found is embedded as its ``str`` (a list or dict as
sorted JSON); a path that matches nothing gives no text.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Mapping
from typing import Any

import anyio.to_thread

__all__ = ("Embedder", "ensure_embeddings", "get_text_at_path", "tokenize_path")


def tokenize_path(path: str) -> list[str]:
    """Split a path into tokens: keys, ``[...]`` index tokens, ``{...}`` field sets."""
    tokens: list[str] = []
    word: list[str] = []
    i, n = 0, len(path)
    while i < n:
        char = path[i]
        if char in "[{":
            if word:
                tokens.append("".join(word))
                word = []
            close = "]" if char == "[" else "}"
            depth, j = 1, i + 1
            while j < n and depth:
                if path[j] == char:
                    depth += 1
                elif path[j] == close:
                    depth -= 1
                j += 1
            tokens.append(path[i:j])
            i = j
            continue
        if char == ".":
            if word:
                tokens.append("".join(word))
                word = []
        else:
            word.append(char)
        i += 1
    if word:
        tokens.append("".join(word))
    return tokens


def _as_text(value: Any) -> str | None:
    if isinstance(value, str | int | float | bool):
        return str(value)
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return None


def _walk(obj: Any, tokens: list[str], pos: int, out: list[str]) -> None:
    if pos == len(tokens):
        text = _as_text(obj)
        if text is not None:
            out.append(text)
        return
    token = tokens[pos]
    if token.startswith("[") and token.endswith("]"):
        if not isinstance(obj, list):
            return
        index = token[1:-1]
        if index == "*":
            for element in obj:
                _walk(element, tokens, pos + 1, out)
            return
        try:
            i = int(index)
        except ValueError:
            return
        if i < 0:
            i += len(obj)
        if 0 <= i < len(obj):
            _walk(obj[i], tokens, pos + 1, out)
    elif token.startswith("{") and token.endswith("}"):
        if not isinstance(obj, dict):
            return
        for field in token[1:-1].split(","):
            current: Any = obj
            for part in tokenize_path(field.strip()):
                if not isinstance(current, dict) or part not in current:
                    current = None
                    break
                current = current[part]
            text = _as_text(current)
            if text is not None:
                out.append(text)
    elif token == "*":
        children = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, list) else ()
        for child in children:
            _walk(child, tokens, pos + 1, out)
    elif isinstance(obj, dict) and token in obj:
        _walk(obj[token], tokens, pos + 1, out)


def get_text_at_path(obj: Any, path: str | list[str]) -> list[str]:
    """The texts of ``obj`` at ``path`` (a path string or its tokens)."""
    if isinstance(obj, Mapping) and not isinstance(obj, dict):
        obj = dict(obj)
    if not path or path == "$":
        return [json.dumps(obj, sort_keys=True, ensure_ascii=False)]
    tokens = tokenize_path(path) if isinstance(path, str) else path
    out: list[str] = []
    _walk(obj, tokens, 0, out)
    return out


def _is_async_callable(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object with an async __call__
    )


def _overrides_async(obj: Any, name: str) -> bool:
    """Whether ``obj``'s class defines its own ``name`` (LangChain's base class runs the
    sync method in asyncio's executor, which trio does not have)."""
    for cls in type(obj).__mro__:
        if name in cls.__dict__:
            return cls.__module__.split(".")[0] != "langchain_core"
    return False


class Embedder:
    """Embeds texts with what ``index["embed"]`` gave, from sync and async code.

    A sync function (or an ``Embeddings`` without async methods of its own) runs in a
    worker thread when called from async code, on asyncio and trio alike; an async
    function can only be used from async code.
    """

    __slots__ = ("_aembed", "_aembed_query", "_embed", "_embed_query", "source")

    def __init__(self, source: Any) -> None:
        self.source = source
        self._embed: Any = None
        self._embed_query: Any = None
        self._aembed: Any = None
        self._aembed_query: Any = None
        if callable(getattr(source, "embed_documents", None)):
            self._embed = source.embed_documents
            self._embed_query = getattr(source, "embed_query", None)
            if _overrides_async(source, "aembed_documents"):
                self._aembed = source.aembed_documents
            if _overrides_async(source, "aembed_query"):
                self._aembed_query = source.aembed_query
        elif _is_async_callable(source):
            self._aembed = source
        elif callable(source):
            self._embed = source
        else:
            raise TypeError(
                "index['embed'] must be a LangChain Embeddings, a function that takes a "
                "list of texts and returns a list of vectors (sync or async), or a "
                f"'provider:model' string; got {type(source).__name__}"
            )

    @property
    def embeddings(self) -> Any:
        """What the store shows as ``store.embeddings``: the given ``Embeddings``, or
        this adapter for a function (LangGraph shows its own wrapper then)."""
        return self.source if callable(getattr(self.source, "embed_documents", None)) else self

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if self._embed is None:
            raise ValueError(
                "the store's index was given an async embedding function, which sync calls "
                "(store.put / store.search) cannot use: call the async twins (aput, asearch) "
                "or give index['embed'] a sync function"
            )
        return list(self._embed(texts))

    def embed_query(self, text: str) -> list[float]:
        if self._embed_query is not None:
            return list(self._embed_query(text))
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        if self._aembed is not None:
            return list(await self._aembed(texts))
        return await anyio.to_thread.run_sync(self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        if self._aembed_query is not None:
            return list(await self._aembed_query(text))
        if self._aembed is not None:
            return list((await self._aembed([text]))[0])
        return await anyio.to_thread.run_sync(self.embed_query, text)


@functools.cache
def _init_embeddings() -> Any:
    try:
        from langchain.embeddings import init_embeddings
    except ImportError:
        return None
    return init_embeddings


def ensure_embeddings(embed: Any) -> Embedder:
    """An :class:`Embedder` for ``index["embed"]``."""
    if embed is None:
        raise ValueError("the store's index needs 'embed': an Embeddings or a function")
    if isinstance(embed, Embedder):
        return embed
    if isinstance(embed, str):
        init = _init_embeddings()
        if init is None:
            raise ValueError(
                f"Could not load embeddings from string {embed!r}: loading embeddings by "
                "'provider:model' needs langchain>=0.3.9 and the provider's package "
                "(pip install langchain langchain-openai); or pass an Embeddings object "
                "or a function as index['embed']"
            )
        return Embedder(init(embed))
    return Embedder(embed)

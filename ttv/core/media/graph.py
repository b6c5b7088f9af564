"""Filter graphs built with ffmpeg-python: the one adapter between the encode path and ffmpeg-python's
graph API (``ffmpeg.input``, filter nodes, ``ffmpeg.output`` and ``ffmpeg.get_args``).

A ``Graph`` collects inputs and filter nodes; ``Graph.compile`` hands the wanted output streams to
``ffmpeg.output(...)``/``ffmpeg.get_args`` and splits what comes back into the input arguments, the
``-filter_complex`` text (written to a filter script by the caller) and the ``-map`` arguments. The
graph text, its stream labels and its escaping are ffmpeg-python's; nothing here joins filter text.

ffmpeg-python 0.2.0 quirks, and what this adapter does about each:

* **Equal nodes are merged.** A node's identity is a hash of its arguments and upstream nodes only
  (not even its filter name), and ``__eq__`` compares hashes: two ``ffmpeg.input`` calls on the same
  file are one input, two identical chains (two silent clips of the same length) collapse into one
  node with two consumers, which ``get_args`` rejects ("a `split` filter is probably required"), and
  ``null``/``anull`` on one stream would be the same node. Every node made here (``_Input``,
  ``_Filter``) has its own identity, so the graph has exactly the nodes that were built.
* **Source filters** (``anullsrc``): ``FilterNode`` demands at least one input. ``_Filter`` is a
  ``FilterNode`` made through ``Node.__init__`` with ``min_inputs=0``, so ``get_args`` writes it like
  any filter, just without input labels (``anullsrc=cl=stereo:r=48000[s3]``).
* **Sink filters** (``anullsink``) cannot be expressed: ``get_args`` looks up the outgoing edges of
  every filter node it writes and raises KeyError for a node with none. Nothing is needed instead:
  only nodes the outputs depend on are written, so a stream that would be thrown away is simply not
  built (``Graph.compile`` never sees it). The encode path, for a chunk without clip sound under a
  soundtrack, therefore builds no clip silence at all (it used to send it to ``anullsink``).
* **Escaping.** Each option value is escaped for the option parser (``\\ ' = :``) and the whole
  filter again for the graph parser (``\\ ' [ ] , ;``). That is correct ffmpeg escaping as long as
  values are passed *raw*: a value quoted or escaped by hand (``'trunc(iw*sar/2)*2'``) would reach
  the filter with its quotes. Values are passed as plain strings; numbers go through ``str`` (so
  callers format floats themselves). ``pan``'s ``args=stereo|c0=c0|c1=c0`` comes out as
  ``args=stereo|c0\\\\=c0...``, which ffmpeg unescapes back to the same layout.
* **Positional arguments are escaped twice** for the option parser (``FilterNode._get_filter``
  escapes ``args`` once into ``out_args`` and again into ``arg_params``), so a positional value with
  ``\\ ' = :`` would reach the filter with backslashes in it. Keyword options are escaped once, as
  they should be. ``Graph`` refuses such a positional value: pass it by its option name
  (``pan``'s layout goes as ``args="stereo|c0=c0|c1=c0"``).
* **Option order.** Positional arguments come first, then keyword options *sorted by name*; every
  option used here is named or positional, so order does not change meaning. A Python keyword
  (``async``) is passed as ``**{"async": 1}``.
* **Stream labels** are ffmpeg-python's (``s0``, ``s1``... in topological order), not ours: the
  ``-map`` arguments are taken from ``get_args`` too. Multi-output filters (``concat`` with audio)
  take integer labels 0, 1... on their streams: ``get_args`` writes a node's outputs sorted by label,
  which is the filter's pad order (and it cannot sort ``None`` against an int).
* **Input order.** ``get_args`` numbers inputs in its own (topological) order and drops inputs no
  output uses; the ``-i`` arguments are taken from it, never assumed. Selectors such as ``v:0`` are
  written ``[N:v:0]``.
* ``get_args`` fails on a graph without inputs (it ``reduce``\\ s an empty list); ``compile`` says
  so instead.

ffmpeg-python is imported when a graph is built, not when ttv starts.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_ids = itertools.count(1)

Stream = Any  # an ffmpeg-python FilterableStream
Option = str | int | float


def _classes() -> tuple[type, type]:
    """The node classes, made on first use (so ``import ffmpeg`` happens only when a graph is built)."""
    global _CLASSES
    if _CLASSES is None:
        from ffmpeg.nodes import FilterableStream, FilterNode, InputNode, Node

        class _Input(InputNode):  # type: ignore[misc]
            """``ffmpeg.input(filename)`` with its own identity (two inputs of one file stay two)."""

            def __init__(self, filename: str) -> None:
                super().__init__("input", kwargs={"filename": filename})
                self._ttv_id = next(_ids)

            def __hash__(self) -> int:
                return self._ttv_id

        class _Filter(FilterNode):  # type: ignore[misc]
            """A filter node with its own identity; with no input streams, a source filter."""

            def __init__(self, streams: list[Any], name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
                Node.__init__(
                    self,
                    stream_spec=list(streams),
                    name=name,
                    incoming_stream_types={FilterableStream},
                    outgoing_stream_type=FilterableStream,
                    min_inputs=0,
                    max_inputs=None,
                    args=args,
                    kwargs=kwargs,
                )
                self._ttv_id = next(_ids)

            def __hash__(self) -> int:
                return self._ttv_id

        _CLASSES = (_Input, _Filter)
    return _CLASSES


_CLASSES: tuple[type, type] | None = None


Step = tuple[str, tuple[Option, ...], dict[str, Option]]


def step(name: str, /, *args: Option, **kwargs: Option) -> Step:
    """One filter of a chain for ``Graph.chain``: ``step("scale", 640, 360, force_original_aspect_ratio="decrease")``."""
    return (name, args, kwargs)


_TWICE_ESCAPED = set("\\'=:")


def _check(name: str, args: Sequence[Option], kwargs: dict[str, Option]) -> None:
    for v in [*args, *kwargs.values()]:
        if not isinstance(v, (str, numbers.Real)) or isinstance(v, bool):  # numpy numbers too
            raise TypeError(f"{name}: option {v!r} is not a string or number")
    for v in args:
        if _TWICE_ESCAPED & set(str(v)):
            raise ValueError(f"{name}: pass {v!r} by its option name (ffmpeg-python escapes positional values twice)")


class Graph:
    """One ``-filter_complex`` graph built through ffmpeg-python (see the module notes)."""

    def __init__(self) -> None:
        self._input_cls, self._filter_cls = _classes()

    def input(self, path: Path | str) -> Any:
        """A new input (an InputNode; select streams with ``graph.select(node, "v:0")``)."""
        return self._input_cls(str(path))

    @staticmethod
    def select(node: Any, selector: str) -> Stream:
        """Stream ``selector`` of an input (``"v:0"``, ``"a:0"``): written ``[N:v:0]``."""
        return node.stream(selector=selector)

    def filter(self, inputs: Stream | Sequence[Stream], name: str, /, *args: Option, **kwargs: Option) -> Stream:
        """``name`` applied to one stream or to several (in pad order); its single output stream."""
        streams = [inputs] if not isinstance(inputs, (list, tuple)) else list(inputs)
        return self.node(streams, name, *args, **kwargs).stream()

    def source(self, name: str, /, *args: Option, **kwargs: Option) -> Stream:
        """A source filter (no inputs), e.g. ``anullsrc``."""
        return self.node([], name, *args, **kwargs).stream()

    def outputs(
        self, inputs: Sequence[Stream], name: str, count: int, /, *args: Option, **kwargs: Option
    ) -> list[Stream]:
        """A filter with ``count`` output pads (``concat`` with audio): its streams, in pad order."""
        node = self.node(list(inputs), name, *args, **kwargs)
        return [node.stream(label=k) for k in range(count)]

    def chain(self, stream: Stream, *filters: Step) -> Stream:
        """``stream`` through the ``step``\\ s one after the other."""
        for name, args, kwargs in filters:
            stream = self.filter(stream, name, *args, **kwargs)
        return stream

    def node(self, streams: list[Stream], name: str, /, *args: Option, **kwargs: Option) -> Any:
        _check(name, args, kwargs)
        return self._filter_cls(streams, name, list(args), dict(kwargs))

    def compile(self, outputs: Sequence[Stream]) -> tuple[list[str], list[str], str]:
        """``(input args, map args, filter graph text)`` for ``outputs`` (each mapped, in order) from
        ``ffmpeg.get_args``."""
        import ffmpeg

        if not outputs:
            raise ValueError("a filter graph needs at least one output")
        placeholder = "ttv-graph-output"
        try:
            args: list[str] = ffmpeg.output(*outputs, placeholder).get_args()
        except TypeError as exc:  # reduce() of an empty sequence: nothing reads an input
            raise ValueError(f"the filter graph has no inputs ({exc})") from exc
        if args[-1] != placeholder or "-filter_complex" not in args:
            raise ValueError(f"unexpected ffmpeg-python arguments: {args}")
        at = args.index("-filter_complex")
        inputs, graph, maps = args[:at], args[at + 1], args[at + 2 : -1]
        if len(inputs) % 2 or any(a != "-i" for a in inputs[::2]):
            raise ValueError(f"unexpected ffmpeg-python input arguments: {inputs}")
        if len(maps) != 2 * len(outputs) or any(a != "-map" for a in maps[::2]):
            raise ValueError(f"unexpected ffmpeg-python map arguments: {maps}")
        return inputs, maps, graph

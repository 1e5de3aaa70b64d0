"""Load briefing files: YAML -> pydantic models, with every problem located by file and line.

The loader is the gate every fact passes through. It rejects unknown keys and duplicate keys,
checks that ids are unique and that cross-references resolve, and checks that every evidence
quote occurs in the text of its source, so that the store can cite the whole sentence.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .schema import SCHEMA_VERSION, Briefing, Evidence
from .text import SourceText, fold

MAX_FILE_BYTES = 5 * 1024 * 1024
# Deeper than any briefing needs (about 6 levels) and far below Python's recursion limit, which
# deeply nested YAML would otherwise exhaust while the loader walks or constructs it.
MAX_DEPTH = 64
MERGE_TAG = "tag:yaml.org,2002:merge"
BRIEFING_SUFFIXES = (".yaml", ".yml")

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a briefing file, located as precisely as we can."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(file)'}: {self.message}"


class BriefingError(Exception):
    """Raised with every problem found, never just the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} problem(s) in briefing data")

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    def __reduce__(self) -> tuple[type[BriefingError], tuple[list[Problem]]]:
        # Rebuilt from the problems (not the message) when it crosses from the build process.
        return (BriefingError, (self.problems,))


@dataclass(slots=True)
class LoadedBriefing:
    """A validated briefing with the texts of its sources and every cited sentence."""

    briefing: Briefing
    file: str
    texts: dict[str, SourceText] = field(default_factory=dict)
    id_line: int | None = None
    # Each quote's sentence, found once: the evidence rows and the fact index's citations
    # ask for the same quotes again (three times each, on average).
    _sentences: dict[tuple[str, str], str] = field(default_factory=dict, init=False,
                                                   repr=False, compare=False)

    def sentence(self, evidence: Evidence) -> str:
        """The full sentence of the source that `evidence` quotes (validated to exist)."""
        key = (evidence.source, evidence.quote)
        found = self._sentences.get(key)
        if found is None:
            found = self.texts[evidence.source].sentence_around(evidence.quote)
            assert found is not None, "the loader checked every quote"
            self._sentences[key] = found
        return found


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# ---------------------------------------------------------------------------- YAML with lines


# libyaml's parser when PyYAML was built with it (the wheels are): the pure-Python scanner
# was three quarters of a build's time.
_SafeLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc, valid-type]
    """SafeLoader whose impossible dates (2025-02-30) are errors located at their line."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:  # type: ignore[override]
        try:
            return super().construct_yaml_timestamp(node)  # type: ignore[arg-type]
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid date {node.value!r} ({exc})", node.start_mark) from None


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_timestamp)


class _NeedsLocating(Exception):
    """The fast path met something to report: the located path names file, line and field."""


class _FastLoader(_Loader):
    """libyaml's parse and PyYAML's construction, with no line map: for files with nothing
    to report, which is nearly all of them.

    It refuses (with _NeedsLocating) whatever the located path would report or walk: a
    duplicate or non-string key, a merge key (<<), an alias (*name). Nesting deeper than
    MAX_DEPTH cannot pass the schema, whose models nest about six levels and hold no
    free-form values, so it ends in a validation error and is located too.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.references = 1  # the root; each mapping pair and sequence item adds its own

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        # SafeConstructor merges `<<` keys here; we refuse them, so there is nothing to merge.
        self.references += 2 * len(node.value)
        for key_node, _ in node.value:
            if key_node.tag == MERGE_TAG:
                raise _NeedsLocating

    def construct_mapping(self, node: yaml.MappingNode,  # type: ignore[override]
                          deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep)
        if len(mapping) != len(node.value) or not all(type(k) is str for k in mapping):
            raise _NeedsLocating  # a duplicate key (or one that is not text)
        return mapping  # type: ignore[no-any-return]

    def construct_sequence(self, node: yaml.SequenceNode,  # type: ignore[override]
                           deep: bool = False) -> list[Any]:
        self.references += len(node.value)
        return super().construct_sequence(node, deep)  # type: ignore[no-any-return]

    def construct_document(self, node: yaml.Node) -> Any:  # type: ignore[override]
        data = self.construct_object(node)  # type: ignore[arg-type]
        while self.state_generators:  # type: ignore[has-type]
            generators: list[Any] = self.state_generators  # type: ignore[has-type]
            self.state_generators = []  # type: ignore[var-annotated]
            for generator in generators:
                for _ in generator:
                    pass
        # Every node of a tree is referred to once; an alias refers to one a second time.
        if len(self.constructed_objects) != self.references:
            raise _NeedsLocating
        return data


def _parse_fast(text: str) -> Any:
    """The data of `text`, or raise _NeedsLocating when there is any problem to report."""
    loader = _FastLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise _NeedsLocating
        return loader.construct_document(root)
    except (yaml.YAMLError, RecursionError, TypeError, ValueError):
        raise _NeedsLocating from None
    finally:
        loader.dispose()


def _yaml_problem(exc: yaml.YAMLError, file: str, text: str) -> Problem:
    if isinstance(exc, yaml.reader.ReaderError):
        # A character YAML forbids (NUL, other controls): libyaml gives a character offset,
        # an editor needs the line and column.
        before = text[: exc.position]
        line = before.count("\n") + 1
        column = exc.position - (before.rfind("\n") + 1) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return Problem(file, line, "", f"invalid YAML: control character U+{ord(char):04X} at "
                       f"column {column} is not allowed (delete it)")
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem(file, None, "", f"invalid YAML: {exc}")
    problem, context = exc.problem_mark, exc.context_mark
    # "found unexpected end of stream" points past the last line; where the unclosed thing
    # (a quote, a bracket) started is what the editor needs.
    at_end = problem is not None and problem.index >= len(text) - 1
    mark = context if (context is not None and (problem is None or at_end)) else problem
    reason = exc.problem or exc.context or "invalid YAML"
    if exc.context and mark is context:
        reason = f"{reason} ({exc.context})"
    return Problem(file, mark.line + 1 if mark else None, "", f"invalid YAML: {reason}")


def _parse_yaml(text: str, file: str) -> tuple[Any, dict[Loc, int], list[Problem]]:
    """Parse YAML, returning the data, the line of every key and item, and duplicate keys."""
    loader = _Loader(text)
    try:
        return _compose_and_construct(loader, text, file)
    except RecursionError:  # the depth check below should prevent it; never a traceback
        return None, {}, [Problem(file, None, "", f"nested too deeply (the limit is "
                                  f"{MAX_DEPTH} levels)")]
    finally:
        loader.dispose()


def _compose_and_construct(loader: Any, text: str, file: str
                           ) -> tuple[Any, dict[Loc, int], list[Problem]]:
    """Parse once: compose the node tree (for lines), then construct the data from it."""
    try:
        root = loader.get_single_node()
    except yaml.YAMLError as exc:
        return None, {}, [_yaml_problem(exc, file, text)]
    if root is None:
        return None, {}, [Problem(file, 1, "", "the file is empty")]

    lines: dict[Loc, int] = {}
    problems: list[Problem] = []
    fatal: list[Problem] = []  # problems that make constructing the data unsafe or wrong
    visited: set[int] = set()

    def _fatal(problem: Problem) -> None:
        problems.append(problem)
        fatal.append(problem)

    def walk(node: yaml.Node, loc: Loc) -> None:
        if len(loc) > MAX_DEPTH:
            _fatal(Problem(file, node.start_mark.line + 1, format_loc(loc[:MAX_DEPTH]),
                           f"nested more than {MAX_DEPTH} levels deep"))
            return
        if id(node) in visited:
            # An alias (*name): briefings have no use for them, and they allow self-reference
            # and exponential "billion laughs" expansion.
            # The node is the anchor's own, so its mark is the anchor's line; the key that
            # holds the alias, when there is one, is where the alias is written.
            line = lines.get(loc, node.start_mark.line + 1)
            _fatal(Problem(file, line, format_loc(loc),
                           "YAML anchors and aliases (&name, *name) are not allowed"))
            return
        visited.add(id(node))
        lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key_node.tag == MERGE_TAG:
                    # `<<: {...}` silently sets (or overrides) fields from another mapping.
                    _fatal(Problem(file, key_node.start_mark.line + 1, format_loc((*loc, key)),
                                   "YAML merge keys (<<) are not allowed: write each field out"))
                    continue
                if key in seen:
                    problems.append(
                        Problem(
                            file,
                            key_node.start_mark.line + 1,
                            format_loc((*loc, key)),
                            f"duplicate key '{key}'",
                        )
                    )
                seen.add(key)
                lines[(*loc, key)] = key_node.start_mark.line + 1
                walk(value_node, (*loc, key))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*loc, index))

    walk(root, ())
    if fatal:
        return None, lines, problems
    try:
        data = loader.construct_document(root)
    except yaml.YAMLError as exc:
        return None, lines, [*problems, _yaml_problem(exc, file, text)]
    return data, lines, problems


def _line_for(lines: dict[Loc, int] | None, loc: Loc) -> int | None:
    if lines is None:  # the fast path: the problem is reported again, located
        return None
    while True:
        if loc in lines:
            return lines[loc]
        if not loc:
            return None
        loc = loc[:-1]


# ---------------------------------------------------------------------------- checks


_EVIDENCE_KEYS = frozenset({"source", "quote", "reported_by"})


def _evidence_dicts(value: Any) -> Iterator[tuple[Loc, dict[str, Any]]]:
    """`_evidence_locs` without the locations (each is ()), in no particular order: for the
    fast path, which reports nothing itself (a problem sends the file to the located path)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:  # a dump holds plain dicts and lists only
            if _EVIDENCE_KEYS <= item.keys():
                yield (), item
            else:
                stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)


def _evidence_locs(value: Any, loc: Loc) -> Iterator[tuple[Loc, dict[str, Any]]]:
    """Every evidence dict in a dumped briefing, with its location."""
    if isinstance(value, dict):
        if _EVIDENCE_KEYS <= value.keys():
            yield loc, value
            return
        for key, item in value.items():
            yield from _evidence_locs(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _evidence_locs(item, (*loc, index))


def _record_ids(b: Briefing) -> Iterator[tuple[Loc, str]]:
    for kind in ("sources", "entities", "events", "quotes", "claims", "discrepancies", "facts"):
        for index, record in enumerate(getattr(b, kind)):
            yield (kind, index, "id"), record.id
    if b.deal:
        yield ("deal", "id"), b.deal.id
        for index, transfer in enumerate(b.deal.transfers):
            yield ("deal", "transfers", index, "id"), transfer.id


def _entity_refs(b: Briefing) -> Iterator[tuple[Loc, str]]:
    for i, entity in enumerate(b.entities):
        for j, role in enumerate(entity.roles):
            if role.organisation:
                yield ("entities", i, "roles", j, "organisation"), role.organisation
    for i, event in enumerate(b.events):
        for key in ("where", "participants"):
            for j, ref in enumerate(getattr(event, key)):
                yield ("events", i, key, j), ref
    for i, quote in enumerate(b.quotes):
        yield ("quotes", i, "speaker"), quote.speaker
    for i, claim in enumerate(b.claims):
        if claim.claimant:  # none when the source names nobody
            yield ("claims", i, "claimant"), claim.claimant
    for i, fact in enumerate(b.facts):
        for j, ref in enumerate(fact.about):
            yield ("facts", i, "about", j), ref
    if b.deal:
        for key in ("parties", "brokers"):
            for j, ref in enumerate(getattr(b.deal, key)):
                yield ("deal", key, j), ref
        for i, transfer in enumerate(b.deal.transfers):
            for key in ("giver", "receiver", "subject"):
                ref = getattr(transfer, key)
                if ref:
                    yield ("deal", "transfers", i, key), ref
        for i, basis in enumerate(b.deal.legal_basis):
            yield ("deal", "legal_basis", i, "law"), basis.law


def _read_text(path: Path, file: str) -> tuple[str | None, Problem | None]:
    if path.is_symlink() and not path.exists():
        return None, Problem(file, None, "", f"a symbolic link to {os.readlink(path)}, which "
                             "does not exist: fix or remove the link")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, Problem(file, None, "", f"cannot read: {exc.strerror or exc}")
    if len(raw) > MAX_FILE_BYTES:
        return None, Problem(file, None, "", f"file is {len(raw):,} bytes; the limit is 5 MiB")
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, Problem(file, line, "", f"not UTF-8 text (byte {exc.start})")


# ---------------------------------------------------------------------------- one pass

#: The lists of records at the top of a briefing; a schema error in one record skips only it.
RECORD_LISTS = ("sources", "entities", "events", "quotes", "claims", "discrepancies", "facts")
#: Lists of records inside the deal, skipped one by one in the same way.
DEAL_LISTS = ("transfers", "legal_basis", "conditions")
#: Stand-ins for required top-level fields that failed the schema, so that the rest of the
#: file can still be checked; each is reported above and never built.
_PLACEHOLDERS: dict[str, Any] = {"id": "invalid", "title": "-", "summary": "-",
                                 "version": "0", "updated": "2000-01-01",
                                 "primary_source": "invalid"}


@dataclass(slots=True)
class _Salvaged:
    """The part of a briefing that passed the schema, and how to find its records' lines.

    `kept[path]` lists, for a list of records, the original index of each record kept, so
    that a problem found in the salvaged data is reported at its place in the file.
    """

    data: Any = None
    kept: dict[Loc, list[int]] = field(default_factory=dict)
    failed_ids: frozenset[str] = frozenset()  # ids of records skipped for schema errors
    failed_fields: frozenset[str] = frozenset()  # top-level fields that failed

    def original(self, loc: Loc) -> Loc:
        """Where `loc` (a place in the salvaged data) is in the file as written."""
        for path, kept in self.kept.items():
            n = len(path)
            index = loc[n] if len(loc) > n else None
            if loc[:n] == path and isinstance(index, int):
                loc = (*path, kept[index], *loc[n + 1:])
        return loc


def _schema_messages(errors: Sequence[Any]) -> list[tuple[Loc, str]]:
    """One message per schema mistake: a misspelt key (`descripton`) is one problem, at
    the key as written, rather than an unknown key plus a missing field."""
    missing = {tuple(e["loc"]): e for e in errors if e["type"] == "missing"}
    paired: set[Loc] = set()
    out: list[tuple[Loc, str]] = []
    for error in errors:
        loc: Loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden" and loc and isinstance(loc[-1], str):
            wanted = [m[-1] for m in missing
                      if m[:-1] == loc[:-1] and m not in paired and isinstance(m[-1], str)]
            close = difflib.get_close_matches(loc[-1], wanted, n=1, cutoff=0.75)
            if close:
                paired.add((*loc[:-1], close[0]))
                out.append((loc, f"unknown key '{loc[-1]}': did you mean '{close[0]}'?"))
                continue
        out.append((loc, error["msg"]))
    return [(loc, msg) for loc, msg in out if loc not in paired]


def _record_of(loc: Loc) -> Loc:
    """The record an error at `loc` belongs to: a list item, the deal's item, or a field."""
    if len(loc) >= 2 and loc[0] in RECORD_LISTS and isinstance(loc[1], int):
        return loc[:2]
    if (len(loc) >= 3 and loc[0] == "deal" and loc[1] in DEAL_LISTS
            and isinstance(loc[2], int)):
        return loc[:3]
    if loc and loc[0] == "deal":
        return ("deal",)
    return loc[:1]


def _salvage(data: dict[str, Any], errors: Iterable[Any]) -> _Salvaged:
    """`data` without the records (and top-level fields) that failed the schema."""
    bad = {_record_of(tuple(e["loc"])) for e in errors}
    out = dict(data)
    failed_ids: set[str] = set()
    failed_fields: set[str] = set()
    kept: dict[Loc, list[int]] = {}

    def ids_in(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("id"), str):
                # A misformed id ("Maiquetia", "maiq uetia") is most likely meant as the id
                # the references use: neither counts as dangling.
                failed_ids.update((value["id"], re.sub(r"[^a-z0-9-]", "", value["id"].lower())))
            for item in value.get("transfers", ()) if isinstance(
                    value.get("transfers"), list) else ():
                ids_in(item)

    def prune(container: dict[str, Any], path: Loc, key: str) -> None:
        items = container.get(key)
        if not isinstance(items, list) or not any((*path, key, i) in bad
                                                   for i in range(len(items))):
            return
        keep = [i for i in range(len(items)) if (*path, key, i) not in bad]
        for i in range(len(items)):
            if i not in keep:
                ids_in(items[i])
        container[key] = [items[i] for i in keep]
        kept[(*path, key)] = keep

    for key in RECORD_LISTS:
        prune(out, (), key)
    if ("deal",) in bad:
        ids_in(out.pop("deal", None))
        failed_fields.add("deal")
    elif isinstance(out.get("deal"), dict):
        out["deal"] = dict(out["deal"])
        for key in DEAL_LISTS:
            prune(out["deal"], ("deal",), key)
        if out["deal"].get("transfers") == []:  # a deal needs one: none of its own is left
            ids_in(out.pop("deal"))
            failed_fields.add("deal")
    for loc in bad:
        if len(loc) == 1 and isinstance(loc[0], str) and loc[0] != "deal":
            name = loc[0]
            failed_fields.add(name)
            out.pop(name, None)
            if name in _PLACEHOLDERS:
                out[name] = _PLACEHOLDERS[name]
    return _Salvaged(out, kept, frozenset(failed_ids), frozenset(failed_fields))


def load_briefing(path: Path, sources_dir: Path) -> LoadedBriefing:
    """Load and check one briefing file; raise BriefingError with every problem found.

    Line numbers are only needed to report a problem, and mapping every node to its line
    cost about a third of a load: the file is parsed without them first, and only when
    anything is wrong parsed again with them, so that each problem names its line.
    """
    file = str(path)
    text, problem = _read_text(path, file)
    if problem or text is None:
        raise BriefingError([problem] if problem else [])
    try:
        return _check(file, _parse_fast(text), None, [], sources_dir)
    except _NeedsLocating:
        pass
    data, lines, problems = _parse_yaml(text, file)
    if data is None:
        raise BriefingError(problems)
    return _check(file, data, lines, problems, sources_dir)


def _check(file: str, data: Any, lines: dict[Loc, int] | None, problems: list[Problem],
           sources_dir: Path) -> LoadedBriefing:
    """Validate parsed data; raise BriefingError with every problem found. Without `lines`
    (the fast path), raise _NeedsLocating at the first problem instead."""
    if lines is None and problems:
        raise _NeedsLocating
    if not isinstance(data, dict):
        if lines is None:
            raise _NeedsLocating
        raise BriefingError([Problem(file, 1, "", "the top level must be a mapping of fields")])
    salvaged = _Salvaged()
    try:
        briefing = Briefing.model_validate(data)
    except ValidationError as exc:
        if lines is None:
            raise _NeedsLocating from None
        errors = exc.errors(include_url=False)
        for loc, message in _schema_messages(errors):
            problems.append(Problem(file, _line_for(lines, loc), format_loc(loc), message))
        # One pass reports everything: the records that passed the schema are still checked
        # for references and evidence, so an editor does not fix one kind of mistake only to
        # meet the next kind on the following run.
        salvaged = _salvage(data, errors)
        try:
            briefing = Briefing.model_validate(salvaged.data)
        except ValidationError:
            raise BriefingError(problems) from None  # nothing checkable is left

    def report(loc: Loc, message: str) -> None:
        if lines is None:
            raise _NeedsLocating
        loc = salvaged.original(loc)
        problems.append(Problem(file, _line_for(lines, loc), format_loc(loc), message))

    seen: dict[str, Loc] = {}
    for loc, record_id in _record_ids(briefing):
        if record_id in seen:
            report(loc, f"duplicate id '{record_id}' (first at {format_loc(seen[record_id])})")
        else:
            seen[record_id] = loc
    entity_ids = {e.id for e in briefing.entities}
    source_ids = {s.id for s in briefing.sources}
    for loc, ref in _entity_refs(briefing):
        if ref not in entity_ids and ref not in salvaged.failed_ids:
            report(loc, f"unknown entity '{ref}'")
    record_refs = [
        *((("discrepancies", i, "applies_to", j), ref)
          for i, d in enumerate(briefing.discrepancies) for j, ref in enumerate(d.applies_to)),
        *((("claims", i, "about", j), ref)
          for i, c in enumerate(briefing.claims) for j, ref in enumerate(c.about)),
    ]
    for loc, ref in record_refs:
        if ref not in seen and ref not in salvaged.failed_ids:
            report(loc, f"unknown record '{ref}'")
    named: dict[str, tuple[str, Loc]] = {}
    for i, entity in enumerate(briefing.entities):
        spellings = [(("entities", i, "name"), entity.name),
                     *((("entities", i, "aliases", j), a) for j, a in enumerate(entity.aliases))]
        for loc, alias in spellings:
            key = fold(alias)
            owner = named.setdefault(key, (entity.id, loc))
            if owner[0] != entity.id:
                # /who with this name would have to pick one of them silently.
                report(loc, f"'{alias}' names both '{owner[0]}' (line "
                       f"{_line_for(lines, owner[1])}) and '{entity.id}': a name or alias "
                       "must belong to one entity")
    skipped = salvaged.failed_ids | salvaged.failed_fields  # reported above, or a stand-in
    if briefing.primary_source not in source_ids and briefing.primary_source not in skipped \
            and "primary_source" not in skipped:
        report(("primary_source",), f"unknown source '{briefing.primary_source}'")

    texts: dict[str, SourceText] = {}
    for i, source in enumerate(briefing.sources):
        if not source.text:
            continue
        target = (sources_dir / source.text).resolve()
        if not target.is_relative_to(sources_dir.resolve()):
            report(("sources", i, "text"), "the text file must be inside the sources folder")
            continue
        if not target.is_file():
            report(("sources", i, "text"), f"text file not found: {sources_dir / source.text}")
            continue
        body, problem = _read_text(target, str(target))
        if problem or body is None:
            report(("sources", i, "text"), problem.message if problem else "unreadable")
            continue
        texts[source.id] = SourceText.parse(body, markdown=target.suffix in (".md", ".markdown"))

    dumped = briefing.model_dump(mode="json")
    for loc, ev in _evidence_locs(dumped, ()) if lines is not None else _evidence_dicts(dumped):
        for j, ref in enumerate(ev["reported_by"]):
            if ref not in source_ids and ref not in salvaged.failed_ids:
                report((*loc, "reported_by", j), f"unknown source '{ref}'")
        if ev["source"] in salvaged.failed_ids:
            continue  # its source has errors above: its quote is checked once it loads
        if ev["source"] not in source_ids:
            report((*loc, "source"), f"unknown source '{ev['source']}'")
        elif ev["source"] not in texts:
            if any(s.id == ev["source"] and s.text for s in briefing.sources):
                continue  # its text file is missing: reported once above
            report((*loc, "source"), f"source '{ev['source']}' has no text to quote from")
        elif texts[ev["source"]].find(ev["quote"]) < 0:
            report((*loc, "quote"), f"quote not found in source '{ev['source']}': {ev['quote']!r}")
    for i, quote in enumerate(briefing.quotes):
        primary = texts.get(briefing.primary_source)
        if primary and not any(texts.get(e.source) and texts[e.source].find(quote.text) >= 0
                               for e in quote.evidence):
            report(("quotes", i, "text"), "the quoted words are not in the cited source")

    if problems:
        raise BriefingError(problems)
    assert not salvaged.failed_fields, "a salvaged briefing always had schema problems"
    return LoadedBriefing(briefing=briefing, file=file, texts=texts,
                          id_line=lines.get(("id",)) if lines is not None else None)


def _id_line(file: str) -> int | None:
    """The line of a briefing's top-level `id` (parsed again, located: only for a report)."""
    text, _ = _read_text(Path(file), file)
    if text is None:
        return None
    _, lines, _ = _parse_yaml(text, file)
    return lines.get(("id",))


def briefing_files(data_dir: Path) -> list[Path]:
    folder = data_dir / "briefings"
    if not folder.is_dir():
        return []
    # A broken symbolic link is listed too, so that it is reported rather than skipped.
    return sorted(p for p in folder.iterdir() if p.suffix in BRIEFING_SUFFIXES
                  and (p.is_file() or (p.is_symlink() and not p.exists())))


@dataclass(frozen=True, slots=True)
class Unchanged:
    """A briefing whose file and source texts are byte for byte those of the last build,
    which validated them: not read again (its rows stay as that build wrote them)."""

    file: str
    id: str
    records: int


def load_all(data_dir: Path, files: Iterable[Path] | None = None) -> list[LoadedBriefing]:
    """Load every briefing under `data_dir`; raise one BriefingError listing all problems."""
    return load_changed(data_dir, files)  # type: ignore[return-value]  # nothing Unchanged


def load_changed(data_dir: Path, files: Iterable[Path] | None = None,
                 unchanged: Mapping[str, Unchanged] | None = None
                 ) -> list[LoadedBriefing | Unchanged]:
    """`load_all`, except that a file in `unchanged` (by its path) is not read: its entry
    stands in its place. Ids are still checked across all of them."""
    paths = list(files) if files is not None else briefing_files(data_dir)
    if not paths:
        raise BriefingError([Problem(str(data_dir / "briefings"), None, "", "no briefing files")])
    kept = unchanged or {}
    loaded: list[LoadedBriefing | Unchanged] = []
    problems: list[Problem] = []
    for path in paths:
        if str(path) in kept:
            loaded.append(kept[str(path)])
            continue
        try:
            loaded.append(load_briefing(path, data_dir / "sources"))
        except BriefingError as exc:
            problems.extend(exc.problems)
    first: dict[str, str] = {}
    for item in loaded:
        bid = item.id if isinstance(item, Unchanged) else item.briefing.id
        if bid in first:
            line = item.id_line if isinstance(item, LoadedBriefing) else None
            problems.append(
                Problem(item.file, line if line is not None else _id_line(item.file), "id",
                        f"briefing id '{bid}' is also used by {first[bid]}")
            )
        first.setdefault(bid, item.file)
    if problems:
        raise BriefingError(problems)
    return loaded


def input_files(data_dir: Path) -> list[Path]:
    """Every file a build reads or must notice: briefings/ and sources/, sorted."""
    out: list[Path] = []
    for folder in ("briefings", "sources"):
        base = data_dir / folder
        if base.is_dir():
            out.extend(sorted(p for p in base.rglob("*") if p.is_file() or p.is_symlink()))
    return out


def file_digests(data_dir: Path) -> dict[str, str]:
    """The sha256 of every input file, by its path relative to `data_dir`."""
    out: dict[str, str] = {}
    for path in input_files(data_dir):
        try:
            out[str(path.relative_to(data_dir))] = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as exc:
            # Unreadable or a broken link: the loader reports it; the hash must still
            # change, so that a start does not take the old database for current.
            out[str(path.relative_to(data_dir))] = f"unreadable: {exc.strerror}"
    return out


def content_hash(data_dir: Path, digests: dict[str, str] | None = None) -> str:
    """A digest of every briefing and source file (and the format's version)."""
    digest = hashlib.sha256(f"schema:{SCHEMA_VERSION}\n".encode())
    for name, file_digest in (digests if digests is not None else file_digests(data_dir)).items():
        digest.update(f"{name}\0{file_digest}\0".encode())
    return digest.hexdigest()


#: A file modified this recently may be modified again within the same mtime tick, unseen by
#: its size and mtime (git's "racy" files): such a signature is not trusted.
RACY_SECONDS = 2.0


def file_signature(data_dir: Path, *, now: float | None = None) -> str | None:
    """A cheap digest of the input files' paths, sizes and mtimes (no contents read), or
    None when a file changed too recently for its mtime to be trusted."""
    limit_ns = int(((time.time() if now is None else now) - RACY_SECONDS) * 1e9)
    lines = [f"schema:{SCHEMA_VERSION}"]
    for folder in ("briefings", "sources"):
        newest = _stat_tree(data_dir / folder, folder, lines)
        if newest is None or newest > limit_ns:
            return None
    lines.sort()
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _stat_tree(folder: Path | str, name: str, out: list[str]) -> int | None:
    """Append "name, size, mtime_ns, inode" of every file under `folder` (os.scandir: one
    system call per file, which is what makes an unchanged restart cheap); return the newest
    mtime_ns, or None when a file cannot be looked at (the signature is not to be trusted)."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return 0
    except OSError:
        return None
    # The loop is kept lean (no Path, no max() call per file): at 3,000 files its Python
    # was nearly as much as the system calls themselves.
    newest = 0
    prefix = f"{name}/"
    append = out.append
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                below = _stat_tree(entry.path, prefix + entry.name, out)
                if below is None:
                    return None
                if below > newest:
                    newest = below
                continue
            try:
                st = entry.stat()
            except FileNotFoundError:  # a broken symbolic link: the link itself
                st = entry.stat(follow_symlinks=False)
        except OSError:
            return None
        mtime = st.st_mtime_ns
        if mtime > newest:
            newest = mtime
        append(f"{prefix}{entry.name}\0{st.st_size}\0{mtime}\0{st.st_ino}")
    return newest

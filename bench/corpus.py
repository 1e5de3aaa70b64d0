"""Synthetic briefings: valid files, with the source texts their evidence quotes come from.

`write_corpus(data_dir, n)` writes n briefings of exactly 100 records each (3 sources,
10 entities, 40 events, a deal with 6 transfers, 20 quotes, 15 claims, 5 discrepancies — the
record count `build_database` reports), in the block-style YAML people write (dumped with
libyaml), and two source texts per briefing under sources/. Every evidence quote is a run of
words from a sentence of those texts, so the loader's checks pass exactly as for a real
briefing. Names are plausible and distinct across the whole corpus: people ("Amara Okafor",
aliases "Okafor", "Minister Okafor"), organisations with acronyms, cities, countries, laws.

`entities(n)` gives the same kind of names without writing anything (for the autocomplete
benchmark's in-process index). Everything is seeded: the same n gives the same corpus.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.briefing.text import fold

FIRST = """Amara Bruno Carmen Dmitri Elena Farid Grace Hiroshi Ines Jonas Kofi Leila Mateo Nadia
Oscar Priya Quentin Rosa Samir Tomas Ulla Victor Wen Ximena Yusuf Zofia Adrian Beatriz Cyrus
Dalia Emil Fatima Gustavo Helena Ivan Julia Kenji Lucia Marco Nour Olga Pablo Rania Stefan
Tamar Umar Vera Walter Yara Zainab Anders Bianca Claude Daniel Esther Felipe Greta Hassan Irene
Jorge Katya""".split()
LAST = """Okafor Novak Alvarez Petrov Haddad Tanaka Moreau Kowalski Mensah Rossi Lindqvist
Fernandes Ibrahim Schmidt Costa Nakamura Dubois Yilmaz Castillo Andersen Kim Oliveira Bauer
Nguyen Romero Hoffmann Sato Garcia Ivanova Mwangi Jensen Silva Ortega Weber Laurent Kaur Popescu
Herrera Fischer Santos Vargas Koval Ahmadi Berg Chavez Duarte Eriksen Farouk Gallo Horvat
Iglesias Jovanovic Kariuki Lopez Marquez Nilsen Obi Pereira Quispe Rahman Salazar Toure Urquhart
Valdez Wozniak Xavier Yamamoto Zeller Aguilar Bianchi Carvalho Delgado Esposito Fontaine
Guerrero Hakimi Ishikawa Jimenez Kovacs Lungu Medina Navarro Ochoa Pacheco Quiroga Rinaldi
Soto Tiwari Ueda Vidal Wagner Yadav Zamora Abbasi Barros Cisneros Demir Espinoza""".split()
TITLES = ["Minister", "Senator", "General", "Judge", "Ambassador", "Governor", "Mayor",
          "Director", "Commissioner", "President"]
PORTFOLIOS = ["Foreign Affairs", "Justice", "the Interior", "Defence", "Finance", "Health",
              "Migration", "Security", "Trade", "Energy"]
ADJ = """Northern Southern Eastern Western Central Coastal Federal National Royal United Free
Highland Lowland Atlantic Pacific Andean Baltic Sahel Alpine Delta""".split()
ORG_NOUN = """Council Agency Authority Commission Bureau Institute Alliance League Front
Service Directorate Office Tribunal Ministry Foundation""".split()
ORG_TOPIC = """Migration Justice Security Trade Energy Health Water Transport Labour Rights
Elections Borders Prisons Customs Finance""".split()
CITY_A = """San Santa Port New Old North South East West Fort Lake Mount Saint Villa Puerto
Bel Nova Alta Baja Grand""".split()
CITY_B = """Marino Cristobal Elena Haven Bridge Rosa Vista Mar Aurora Cruz Verde Alba Lucia
Mora Palma Rio Sol Torre Valle Bruma""".split()
COUNTRY_A = """Vel Mar Cor Dal Ess Fen Gal Hal Ist Jor Kas Lor Mon Nor Ost Par Quel Ros Sal Tor"""
COUNTRY_B = """ania ovia estan ador ica onia uria esia ara enia"""
LAW_KIND = ["Act", "Law", "Decree", "Statute", "Code", "Ordinance"]
LAW_TOPIC = ["Alien Enemies", "Border Security", "Prisoner Transfer", "Extradition",
             "Asylum", "Public Order", "Foreign Agents", "Sanctions", "Amnesty", "Treaty"]
VERBS = ["met", "spoke with", "wrote to", "visited", "signed an accord with", "questioned",
         "welcomed", "criticised", "thanked", "negotiated with"]
TOPICS = ["the prisoner transfer", "the border agreement", "the sanctions", "the release of the",
          "the flights", "the amnesty", "the detention centre", "the extradition request",
          "the talks", "the payment"]


@dataclass(frozen=True)
class FakeEntity:
    kind: str
    name: str
    aliases: tuple[str, ...]
    role: str | None = None


def _people() -> Iterator[tuple[str, str, str]]:
    for last in LAST:
        for first in FIRST:
            yield first, last, f"{first} {last}"


def entities(n: int, seed: int = 7) -> list[FakeEntity]:
    """n distinct plausible entities: 60% people, the rest organisations, places and laws."""
    rng = random.Random(seed)
    people = list(_people())
    rng.shuffle(people)
    orgs = [f"{a} {t} {b}" for a in ADJ for b in ORG_NOUN for t in ORG_TOPIC]
    rng.shuffle(orgs)
    cities = [f"{a} {b}" for a in CITY_A for b in CITY_B]
    rng.shuffle(cities)
    countries = [f"{a}{b}" for a in COUNTRY_A.split() for b in COUNTRY_B.split()]
    rng.shuffle(countries)
    laws = [f"{t} {k} of {y}" for t in LAW_TOPIC for k in LAW_KIND for y in range(1790, 2026)]
    rng.shuffle(laws)
    out: list[FakeEntity] = []
    pi = oi = ci = ki = li = 0
    for i in range(n):
        slot = i % 10
        if slot < 6:
            first, last, name = people[pi % len(people)]
            if pi >= len(people):
                name = f"{first} {last}-{pi // len(people) + 1}"
            pi += 1
            title = rng.choice(TITLES)
            out.append(FakeEntity("person", name, (last, f"{title} {last}"),
                                  f"{title} of {rng.choice(PORTFOLIOS)}"))
        elif slot < 8:
            name = orgs[oi % len(orgs)] + ("" if oi < len(orgs) else f" {oi // len(orgs) + 1}")
            oi += 1
            acronym = "".join(w[0] for w in name.split() if w[0].isupper())
            out.append(FakeEntity("organisation", name, (acronym,)))
        elif slot == 8:
            if ci % 2 == 0:
                name = cities[ci // 2 % len(cities)] + (
                    "" if ci // 2 < len(cities) else f" {ci // 2 // len(cities) + 1}")
                out.append(FakeEntity("city", name, (f"{name} City",)))
            else:
                name = countries[ki % len(countries)] + (
                    "" if ki < len(countries) else f" {ki // len(countries) + 1}")
                ki += 1
                out.append(FakeEntity("country", name, (f"Republic of {name}",)))
            ci += 1
        else:
            name = laws[li % len(laws)]
            li += 1
            out.append(FakeEntity("law", name, (name.split(" of ")[0],)))
    return _distinct_in_blocks(out)


def _distinct_in_blocks(ents: list[FakeEntity], size: int = 10) -> list[FakeEntity]:
    """Drop an alias that another entity of its block of ten (one briefing) already uses.

    Two people of one story may share a surname, two organisations an acronym; the loader
    refuses a name that belongs to two entities of a briefing, as /who could not choose.
    """
    out: list[FakeEntity] = []
    for start in range(0, len(ents), size):
        block = ents[start:start + size]
        taken = {fold(e.name) for e in block}
        for e in block:
            kept = []
            for alias in e.aliases:
                if fold(alias) not in taken:
                    taken.add(fold(alias))
                    kept.append(alias)
            out.append(FakeEntity(e.kind, e.name, tuple(kept), e.role))
    return out


class _Text:
    """A source text built sentence by sentence; quotes are runs of words from them."""

    def __init__(self) -> None:
        self.sentences: list[str] = []

    def add(self, sentence: str) -> str:
        """Add a sentence; return a quote from it (its first words, at least 4)."""
        self.sentences.append(sentence)
        words = sentence.rstrip(".").split()
        return " ".join(words[: max(4, len(words) * 2 // 3)])

    def body(self) -> str:
        # One paragraph per five sentences, as a wire report reads.
        paras = [" ".join(self.sentences[i:i + 5]) for i in range(0, len(self.sentences), 5)]
        return "\n".join(paras) + "\n"


def briefing(index: int, ents: list[FakeEntity], rng: random.Random) -> tuple[dict[str, Any],
                                                                               str, str]:
    """One briefing (as data), its primary text and its notes text."""
    bid = f"story-{index:04d}"
    primary, notes = _Text(), _Text()
    src_p, src_n = f"{bid}-report.txt", f"{bid}-notes.txt"

    def ev(text: _Text, sentence: str, source: str = "report",
           reported_by: list[str] | None = None) -> list[dict[str, Any]]:
        item: dict[str, Any] = {"source": source, "quote": text.add(sentence)}
        if reported_by:
            item["reported_by"] = reported_by
        return [item]

    day0 = dt.date(2020, 1, 1) + dt.timedelta(days=index * 2)
    ids = [f"e{j}" for j in range(len(ents))]
    people = [j for j, e in enumerate(ents) if e.kind == "person"]
    orgs = [j for j, e in enumerate(ents) if e.kind == "organisation"]
    places = [j for j, e in enumerate(ents) if e.kind in ("city", "country")]
    laws = [j for j, e in enumerate(ents) if e.kind == "law"]
    # Every briefing has at least one of each (entities come in blocks of ten).
    entity_records = []
    for j, e in enumerate(ents):
        record: dict[str, Any] = {"id": ids[j], "kind": e.kind, "name": e.name,
                                  "aliases": list(e.aliases)}
        if e.role:
            org = orgs[j % len(orgs)]
            record["roles"] = [{
                "title": e.role, "organisation": ids[org],
                "evidence": ev(primary, f"{e.name}, the {e.role}, spoke for the "
                                        f"{ents[org].name} on the matter in story {index}."),
            }]
        record["description"] = (f"{e.name} is a {e.kind} named in story {index}, "
                                 f"involved in {rng.choice(TOPICS)} events.")
        record["evidence"] = ev(primary, f"Officials said {e.name} played a part in the events "
                                         f"of story {index} number {j}.")
        entity_records.append(record)

    events = []
    for k in range(40):
        a, b = rng.sample(people, 2)
        place = places[k % len(places)]
        when = day0 + dt.timedelta(days=k % 28)
        events.append({
            "id": f"ev{k}", "title": f"{ents[a].name} {rng.choice(VERBS)} {ents[b].name}",
            "when": {"date": when, "precision": "day", "order": k},
            "where": [ids[place]], "participants": [ids[a], ids[b]],
            "details": f"The meeting in {ents[place].name} concerned {rng.choice(TOPICS)}.",
            "evidence": ev(primary, f"On day {k} of story {index}, {ents[a].name} "
                                    f"{rng.choice(VERBS)} {ents[b].name} in "
                                    f"{ents[place].name}."),
        })

    giver, receiver = orgs[0], places[0]
    transfers = []
    for k in range(6):
        count = rng.randint(2, 300)
        transfers.append({
            "id": f"tr{k}", "giver": ids[giver if k % 2 == 0 else receiver],
            "receiver": ids[receiver if k % 2 == 0 else giver],
            "what": f"{count} detainees of group {k}",
            "subject": ids[people[k % len(people)]],
            "quantity": {"value": count, "approximate": k % 3 == 0, "unit": "people"},
            "evidence": ev(primary, f"Transfer {k} of story {index} moved {count} detainees "
                                    f"between the parties."),
        })
    deal = {
        "id": "deal", "kind": "exchange", "title": f"The exchange of story {index}",
        "parties": [ids[giver], ids[receiver]], "transfers": transfers, "brokers": [],
        "legal_basis": [{"law": ids[laws[0]], "text": f"Invoked under the {ents[laws[0]].name}.",
                         "evidence": ev(notes, f"The {ents[laws[0]].name} was cited as the "
                                               f"basis of the exchange in story {index}.",
                                        "notes")}],
        "status": "completed",
        "conditions": [{"text": "Each party releases its detainees on the same day.",
                        "evidence": ev(primary, f"Both sides agreed in story {index} to release "
                                                f"the detainees on the same day.")}],
        "evidence": ev(primary, f"The parties to story {index} completed the exchange as "
                                f"agreed."),
    }

    quotes = []
    for k in range(20):
        speaker = people[k % len(people)]
        words = (f"We will keep our word on {rng.choice(TOPICS)} and number {k} of story "
                 f"{index}")
        sentence = f"\"{words},\" {ents[speaker].name} said at a briefing."
        primary.add(sentence)
        quotes.append({"id": f"q{k}", "speaker": ids[speaker], "text": words,
                       "said_in": "a press briefing",
                       "evidence": [{"source": "report", "quote": words}]})

    claims = []
    for k in range(15):
        claimant = people[(k + 3) % len(people)]
        status = ["reported", "attributed", "disputed", "confirmed"][k % 4]
        claim: dict[str, Any] = {
            "id": f"c{k}", "text": f"The detainees of group {k % 6} were held without charge.",
            "claimant": ids[claimant], "status": status, "about": [f"tr{k % 6}"],
            "evidence": ev(primary, f"{ents[claimant].name} claimed in story {index} that group "
                                    f"{k} was held without charge."),
        }
        if status == "disputed":
            claim["contradicting"] = ev(notes, f"Other reports of story {index} dispute claim "
                                               f"{k} about the detainees.", "notes", ["wire"])
        claims.append(claim)

    discrepancies = []
    for k in range(5):
        discrepancies.append({
            "id": f"d{k}", "topic": f"The count of group {k}", "severity": "imprecise",
            "applies_to": [f"tr{k}", ids[people[k % len(people)]]],
            "source_says": {"text": f"The report gives one figure for group {k}.",
                            "evidence": ev(primary, f"The report of story {index} gave a single "
                                                    f"figure for group {k}.")},
            "record_says": {"text": f"Other reports give a range for group {k}.",
                            "evidence": ev(notes, f"Wire reports of story {index} gave a range "
                                                  f"for group {k} instead.", "notes",
                                           ["wire"])},
        })

    data: dict[str, Any] = {
        "id": bid,
        "title": f"Story {index}: {ents[people[0]].name} and the {ents[orgs[0]].name}",
        "summary": f"A synthetic story number {index} for benchmarks, with 100 records.",
        "language": "en", "version": "1.0", "updated": day0 + dt.timedelta(days=40),
        "primary_source": "report",
        "sources": [
            {"id": "report", "title": f"Report on story {index}", "publisher": "Synthetic Wire",
             "date": day0 + dt.timedelta(days=30), "reliability": "primary", "text": src_p},
            {"id": "notes", "title": f"Research notes on story {index}",
             "publisher": "Briefing Bot research notes", "reliability": "high", "text": src_n},
            {"id": "wire", "title": f"Wire copy of story {index}", "publisher": "Synthetic AP",
             "url": f"example.org/story/{index}", "reliability": "high",
             "notes": "Known only through the notes."},
        ],
        "entities": entity_records,
        "events": events,
        "deal": deal,
        "quotes": quotes,
        "claims": claims,
        "discrepancies": discrepancies,
    }
    return data, primary.body(), notes.body()


def write_corpus(data_dir: Path, n: int, seed: int = 11) -> int:
    """Write n briefings (100 records each) and their sources; return the record count."""
    (data_dir / "briefings").mkdir(parents=True, exist_ok=True)
    (data_dir / "sources").mkdir(parents=True, exist_ok=True)
    ents = entities(n * 10)
    rng = random.Random(seed)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    for i in range(n):
        data, report, notes = briefing(i, ents[i * 10:(i + 1) * 10], rng)
        (data_dir / "sources" / f"story-{i:04d}-report.txt").write_text(report, encoding="utf-8")
        (data_dir / "sources" / f"story-{i:04d}-notes.txt").write_text(notes, encoding="utf-8")
        text = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
        (data_dir / "briefings" / f"story-{i:04d}.yaml").write_text(text, encoding="utf-8")
    return n * 100

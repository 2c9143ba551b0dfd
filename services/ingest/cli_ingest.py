"""`frontdoor ingest SOURCE --to kafka|jsonl`: council files to canonical events, pseudonymised at the door."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from schemas.codec import encode
from schemas.csc_api import CscChildState
from schemas.ssd_contacts import SsdContactState
from services.ingest.csc_api import MemoryPreviousRecords
from services.ingest.identity import Pseudonymiser
from services.ingest.result import IngestResult
from services.ingest.ssd_changes import ContactStates
from services.progress import Progress
from services.pseudonym_keys import UnknownCouncilKeyError
from services.settings import MissingPseudonymKeyError, Settings

FORMATS = ("auto", "cin", "annex-a", "csv", "jsonl", "dfe-csc-api", "ssd-contacts")


def register(subparsers: Any) -> None:
    ingest = subparsers.add_parser(
        "ingest", help="ingest CIN census XML, Annex A, CSV, JSONL, DfE CSC API records or SSD contacts into events"
    )
    ingest.add_argument("sources", nargs="+", type=Path, metavar="SOURCE")
    ingest.add_argument("--to", choices=("kafka", "jsonl"), required=True)
    ingest.add_argument("--format", choices=FORMATS, default="auto", help="default: from the file extension")
    ingest.add_argument("--la-code", help="three-digit DfE council code (Annex A and CSV have none)")
    ingest.add_argument(
        "--mapping", type=Path,
        help="CSV column mapping (.toml or .json, docs/ingest-csv.md); for ssd-contacts a copy of the shipped one",
    )  # fmt: skip
    ingest.add_argument("--out", type=Path, help="with --to jsonl: the output file (default: standard output)")
    ingest.add_argument(
        "--no-identity-store",
        action="store_true",
        help="with --to kafka: do not write the sealed pseudonym -> LA child id mapping (frontdoor.identity.v1)",
    )
    ingest.add_argument(
        "--watch", action="store_true",
        help="SOURCE is a folder: ingest each new file as it appears and settles, remembering which are done",
    )  # fmt: skip
    ingest.add_argument("--pattern", default="*", help="with --watch: which file names to take (default: all)")
    ingest.add_argument("--poll-seconds", type=float, default=30.0, help="with --watch: seconds between looks")
    ingest.add_argument("--polls", type=int, default=None, help="with --watch: stop after this many looks")
    ingest.add_argument("--ledger", type=Path, help="with --watch: where the done files are listed (default: in it)")
    ingest.set_defaults(handler=run_ingest)


def detect_format(path: Path, requested: str) -> str:
    if requested != "auto":
        return requested
    suffix = path.suffix.lower()
    by_suffix = {".xml": "cin", ".xlsx": "annex-a", ".xls": "annex-a", ".csv": "csv", ".jsonl": "jsonl"}
    if suffix not in by_suffix:
        raise SystemExit(f"cannot tell the format of {path.name}; pass --format {'|'.join(FORMATS[1:])}")
    return by_suffix[suffix]


def read_source(
    path: Path,
    fmt: str,
    args: argparse.Namespace,
    pseudonymiser: Pseudonymiser,
    previous: MemoryPreviousRecords | None = None,
    *,
    contacts: ContactStates | None = None,
) -> IngestResult:
    """One source file's events and rejections; each adapter is imported only when its format is used.

    `previous` holds each child's previous DfE CSC API record, `contacts` each SSD contact's state (both loaded
    from Kafka with --to kafka).
    """
    readers: dict[str, Callable[[], IngestResult]] = {
        "cin": lambda: _cin(path, pseudonymiser),
        "annex-a": lambda: _annex_a(path, _need(args.la_code, "--la-code"), pseudonymiser),
        "csv": lambda: _csv(path, args, pseudonymiser),
        "jsonl": lambda: _jsonl(path, pseudonymiser),
        "dfe-csc-api": lambda: _csc_api(path, args, pseudonymiser, previous or MemoryPreviousRecords()),
        "ssd-contacts": lambda: _ssd_contacts(path, args, pseudonymiser, contacts or ContactStates()),
    }
    return readers[fmt]()


def _need(value: str | None, flag: str) -> str:
    if not value:
        raise SystemExit(f"this format needs {flag}")
    return value


def _cin(path: Path, pseudonymiser: Pseudonymiser) -> IngestResult:
    from services.ingest.cin_census import read_cin_census  # noqa: PLC0415

    return read_cin_census([path], pseudonymiser)


def _annex_a(path: Path, la_code: str, pseudonymiser: Pseudonymiser) -> IngestResult:
    from services.ingest.annex_a import read_annex_a  # noqa: PLC0415

    return read_annex_a(path, la_code, pseudonymiser)


def _csv(path: Path, args: argparse.Namespace, pseudonymiser: Pseudonymiser) -> IngestResult:
    from services.ingest.tabular import ColumnMapping, read_csv  # noqa: PLC0415

    mapping = ColumnMapping.from_file(args.mapping) if args.mapping else ColumnMapping()
    return read_csv(path, mapping, _need(args.la_code, "--la-code"), pseudonymiser)


def _jsonl(path: Path, pseudonymiser: Pseudonymiser) -> IngestResult:
    from services.ingest.jsonl import read_jsonl  # noqa: PLC0415

    return read_jsonl(path, pseudonymiser)


def _ssd_contacts(
    path: Path, args: argparse.Namespace, pseudonymiser: Pseudonymiser, contacts: ContactStates
) -> IngestResult:
    from services.ingest.ssd_contacts import SsdContactsMapping, read_ssd_contacts  # noqa: PLC0415

    mapping = SsdContactsMapping.from_file(args.mapping) if args.mapping else SsdContactsMapping.shipped()
    return read_ssd_contacts(path, mapping, _need(args.la_code, "--la-code"), pseudonymiser, contacts=contacts)


def _csc_api(
    path: Path, args: argparse.Namespace, pseudonymiser: Pseudonymiser, previous: MemoryPreviousRecords
) -> IngestResult:
    from services.ingest.csc_api import translate_file  # noqa: PLC0415

    now = dt.datetime.now(dt.UTC)
    return asyncio.run(translate_file(path, args.la_code, pseudonymiser, previous, now))


def _csc_previous(settings: Settings, args: argparse.Namespace) -> MemoryPreviousRecords:
    """Each child's previous DfE CSC API record: from its compacted topic with --to kafka, else none."""
    if args.to != "kafka" or args.format != "dfe-csc-api":
        return MemoryPreviousRecords()
    from services.kafka.previous_records import read_states  # noqa: PLC0415

    return MemoryPreviousRecords(asyncio.run(read_states(settings)))


def _ssd_previous(settings: Settings, args: argparse.Namespace) -> ContactStates:
    """Each SSD contact's state as the door last published it: from the same compacted topic with --to kafka."""
    if args.to != "kafka" or args.format != "ssd-contacts":
        return ContactStates()
    from services.kafka.previous_records import read_contact_states  # noqa: PLC0415

    return ContactStates(asyncio.run(read_contact_states(settings)))


def _store_states(settings: Settings, states: Iterable[CscChildState | SsdContactState], what: str) -> str:
    """After the events are published: each changed child's (or contact's) state, for the next record or extract."""
    from schemas.topics import CSC_RECORDS  # noqa: PLC0415
    from services.kafka.previous_records import write_states  # noqa: PLC0415

    sent = asyncio.run(write_states(settings, states))
    return f"previous records: {sent} {what} stored in {CSC_RECORDS.name}"


def run_ingest(args: argparse.Namespace) -> int:
    settings = Settings()
    try:  # each council's own key; never the public dev key, even in the dev profile: these are real files
        pseudonymiser = Pseudonymiser(
            settings.pseudonym_keyring(council_files=True),
            worker_names=settings.worker_names,
            keep_identities=args.to == "kafka" and not args.no_identity_store,
        )
    except MissingPseudonymKeyError as exc:
        print(f"frontdoor ingest: {exc}", file=sys.stderr)
        return 2
    try:
        if args.watch:
            return _watch(args, settings, pseudonymiser)
        ingest_paths(args.sources, args, settings, pseudonymiser)
    except UnknownCouncilKeyError as exc:
        print(f"frontdoor ingest: {exc}", file=sys.stderr)
        return 2
    return 0


def _watch(args: argparse.Namespace, settings: Settings, pseudonymiser: Pseudonymiser) -> int:
    """Poll the one folder given; each settled new file goes through `ingest_paths`, then into the ledger."""
    from services.ingest.watch import LEDGER_NAME, FolderWatch, Ledger, poll  # noqa: PLC0415

    if len(args.sources) != 1 or not args.sources[0].is_dir():
        print("frontdoor ingest --watch: give one folder", file=sys.stderr)
        return 2
    folder = args.sources[0]
    watch = FolderWatch(folder, args.pattern, Ledger.load(args.ledger or folder / LEDGER_NAME))
    print(f"watching {folder} every {args.poll_seconds:g} s for {args.pattern}", file=sys.stderr)
    done = poll(
        watch, lambda file: ingest_paths([file], args, settings, pseudonymiser, append=True),
        poll_seconds=args.poll_seconds, looks=args.polls,
    )  # fmt: skip
    print(f"watch: {done} files ingested", file=sys.stderr)
    return 0


def ingest_paths(
    paths: list[Path],
    args: argparse.Namespace,
    settings: Settings,
    pseudonymiser: Pseudonymiser,
    *,
    append: bool = False,
) -> IngestResult:
    """Read, pseudonymise and publish (or write) the files' events; print every rejection and the counts."""
    progress = Progress("ingest")
    result = IngestResult()
    previous, contacts = _csc_previous(settings, args), _ssd_previous(settings, args)
    for path in paths:
        try:
            part = read_source(path, detect_format(path, args.format), args, pseudonymiser, previous, contacts=contacts)
        except UnknownCouncilKeyError as exc:  # before anything is published: no council half-ingested
            raise UnknownCouncilKeyError(f"{path.name}: {exc}") from exc
        part.refuse_raw_child_keys(path.name)
        progress.update(read=part.read, rejected=len(part.rejected))
        result.extend(part)
    if args.to == "jsonl":
        _write_jsonl(result, args.out, append=append)
        progress.update(published=len(result.events))
    else:
        progress.update(published=asyncio.run(_publish(settings, result)))
        if previous.changed:
            result.notes.append(_store_states(settings, previous.changed.values(), "children's DfE CSC API records"))
        if contacts.changed:
            result.notes.append(_store_states(settings, contacts.changed.values(), "SSD contacts' states"))
        if pseudonymiser.identities is not None:
            result.notes.append(_store_identities(settings, pseudonymiser.identities))
            pseudonymiser.identities.clear()  # sent: a watched folder's next file sends only its own
        if pseudonymiser.erased:
            result.notes.append(_erase_identities(settings, sorted(pseudonymiser.erased)))
            pseudonymiser.erased.clear()
    for rejected in result.rejected:
        print(f"rejected {rejected.source} {rejected.location}: {rejected.reason}", file=sys.stderr)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    progress.finish()
    return result


def _write_jsonl(result: IngestResult, out: Path | None, *, append: bool = False) -> None:
    stream = out.open("ab" if append else "wb") if out else sys.stdout.buffer
    try:
        for event in result.events:
            stream.write(encode(event) + b"\n")
    finally:
        if out:
            stream.close()


def _store_identities(settings: Settings, identities: dict[str, tuple[str, str]]) -> str:
    """Seal each child's council id with the council's key and publish it to the identity store."""
    from schemas.topics import IDENTITY  # noqa: PLC0415
    from services.identity.sealing import IdentityKeyError, Keyring  # noqa: PLC0415
    from services.identity.store import publish_identities  # noqa: PLC0415

    try:
        keyring = Keyring.from_secrets(settings.identity_key, settings.identity_keys)
        if keyring.empty:
            raise IdentityKeyError("no FRONTDOOR_IDENTITY_KEY or FRONTDOOR_IDENTITY_KEYS is set")
        now = dt.datetime.now(dt.UTC)
        sent = asyncio.run(publish_identities(settings, keyring, identities, IDENTITY.name, now))
    except IdentityKeyError as error:
        return f"the identity store was not written ({error}), so the desk cannot reveal these children's ids"
    return f"identity store: {sent} children sealed to {IDENTITY.name}"


def _erase_identities(settings: Settings, child_keys: list[str]) -> str:
    """Children a DfE CSC API record purged whole: erased from the identity store as `frontdoor identity erase` does."""
    from schemas.topics import IDENTITY  # noqa: PLC0415
    from services.identity.store import publish_erasure  # noqa: PLC0415

    asyncio.run(publish_erasure(settings, child_keys, IDENTITY.name))
    return f"identity store: {len(child_keys)} pseudonyms of children purged whole erased from {IDENTITY.name}"


async def _publish(settings: Settings, result: IngestResult) -> int:
    """Events to frontdoor.events.v2 (keyed by council), and each rejection to the dead-letter topic with its reason.

    A dead letter from ingest carries where the record was and why it failed, never the record itself: the raw
    row holds the council's own child identifier, which must not reach Kafka unpseudonymised.
    """
    from schemas.topics import DEADLETTER  # noqa: PLC0415
    from services.kafka.publish import event_publisher  # noqa: PLC0415

    async with event_publisher(settings) as publisher:
        await publisher.send_batch(result.events)
        for rejected in result.rejected:
            letter = {"stage": "ingest", "source": rejected.source, "location": rejected.location}
            letter["reason"] = rejected.reason
            await publisher.producer.send_and_wait(DEADLETTER.name, json.dumps(letter).encode())
        return publisher.published

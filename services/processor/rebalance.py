"""A guard around faust's consumer for the moment after a rebalance, when faust 0.15 can lose a partition's commit."""

from __future__ import annotations

from typing import Any


def hold_streams_until_sought(consumer: Any) -> None:
    """After a rebalance, fetch the source partitions only once faust has sought them and cleared its queues.

    faust 0.15 (tables/recovery.py, on_recovery_completed) resumes the source partitions, then seeks them to the
    committed offsets (a committed-offset request per assigned partition: 0.02 to 0.4 s), then resumes flow
    control, which empties every stream queue; its fetcher is already running for the changelog restore.
    Records fetched before the seek reach the agents. The seek rewinds the read offsets under the fetch still
    being delivered, which faust records as a gap and acknowledges a second time (commits then advance one
    offset per commit), and the records still queued are dropped unacknowledged and never fetched again, so
    the partition's commit stops below them for good (issue 5). Held until then, each source partition starts
    at its committed offset into empty queues.
    """
    resume, seek, flow = consumer.resume_partitions, consumer.perform_seek, consumer.resume_flow
    held: set[Any] = set()
    sought: list[int] = []  # the generation of a seek that finished after the partitions were held

    def hold_sources(tps: Any) -> None:
        tps = set(tps)
        sources = {tp for tp in tps if not consumer._is_changelog_tp(tp)}
        if sources:
            held.update(sources)
            sought.clear()
        resume(tps - sources)

    async def seek_then_mark() -> None:
        await seek()
        sought[:] = [consumer.app.consumer_generation_id]

    def resume_flow_then_release() -> None:
        flow()  # on_recovery_completed calls it after the seek and after flow_control.resume() emptied the queues
        if held and sought == [consumer.app.consumer_generation_id]:
            resume(held & consumer.assignment())
            held.clear()

    consumer.resume_partitions, consumer.perform_seek = hold_sources, seek_then_mark
    consumer.resume_flow = resume_flow_then_release

"""Check a descriptor store's shards (checksums) and neighbour graphs; optionally move damaged shards aside."""

from __future__ import annotations

import argparse
from contextlib import nullcontext

from myPython.errors import EXIT_FAILURE


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", required=True, help="descriptor store folder")
    p.add_argument("--quarantine", action="store_true",
                   help="move damaged shards (and the shards sharing an input with them) to STORE/quarantine/; "
                        "rerunning the same embed re-creates their rows")


def run(args: argparse.Namespace) -> int:
    from myPython.pool.graph_integrity import repair_hint, verify_graphs
    from myPython.pool.integrity import linked_shards, quarantine, verify_store
    from myPython.pool.store import DescriptorStore

    store = DescriptorStore.open(args.db)
    with store.writer_lock() if args.quarantine else nullcontext():
        result = verify_store(store)
        graphs = verify_graphs(store)
        for name, problems in sorted(result.damaged.items()):
            for problem in problems:
                print(f"damaged {name}: {problem}")
        for line in graphs.damaged:
            print(f"damaged {line}")
        for note in (*result.notes, *graphs.notes):
            print(f"note: {note}")
        print(f"verify: {result.shards} shard(s), {result.rows} row(s): "
              + (f"{len(result.damaged)} damaged" if result.damaged else "all checksums match"))
        if graphs.current or graphs.stale or graphs.damaged:
            print(f"verify: neighbour graphs: {graphs.current} current, {graphs.stale} stale"
                  + (f"; {len(graphs.damaged)} damaged file(s): {repair_hint(store)}" if graphs.damaged else ""))
        graph_status = EXIT_FAILURE if graphs.damaged else 0
        if not result.damaged:
            return graph_status
        if not args.quarantine:
            print("verify: rerun with --quarantine to move the damaged shard(s) aside, then embed again")
            return EXIT_FAILURE
        moved = linked_shards(result, set(result.damaged))
        folder = quarantine(store, moved)
    extra = sorted(moved - set(result.damaged))
    print(f"verify: moved {len(moved)} shard(s) to {folder}"
          + (f" ({', '.join(extra)} share an input with a damaged one)" if extra else "")
          + "; rerun the same embed command to embed their inputs again")
    return graph_status

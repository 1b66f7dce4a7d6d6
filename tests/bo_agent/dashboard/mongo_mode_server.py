"""Serve ``tavbo dashboard`` over a MongoDB-mode LaunchPad whose client is mongomock's plain
``MongoClient`` standing in for pymongo's (no tavbo embedded machinery), filled with a copy of
an embedded store's collections.

    python mongo_mode_server.py SOURCE_STORE LAUNCHPAD_YAML PORT

``TAVBO_LAUNCHPAD_FILE`` must name LAUNCHPAD_YAML. Used by test_http.py (MongoDB mode).
"""

from __future__ import annotations

import sys

import mongomock
import pymongo


def main(source: str, lp_file: str, port: str) -> None:
    from workflows.launchpad.opening import open_launchpad

    snapshot = open_launchpad(store_path=source, read_only=True)
    copied = {name: list(snapshot.db[name].find()) for name in snapshot.db.list_collection_names()}
    snapshot.close()
    pymongo.MongoClient = mongomock.MongoClient  # what open_launchpad's MongoDB path calls
    lp = open_launchpad(launchpad_file=lp_file)
    assert lp.mode == "mongodb", lp.mode
    for name, docs in copied.items():
        lp.db[name].delete_many({})  # the counters a new database starts with
        if docs:
            lp.db[name].insert_many(docs)
    from bo_agent.cli.main import app

    sys.argv = ["tavbo", "dashboard", "--port", port, "--refresh", "1"]
    app()


if __name__ == "__main__":
    main(*sys.argv[1:4])

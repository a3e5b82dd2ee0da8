#!/usr/bin/env python3
"""A fixture command for the generator's test: a backend that assigns its own ids.

    renaming_fixture.py REDIS_URL MONGO_URL MONGO_DB < step.json

Like profiles/fixtures/store_conference.py it writes the conference into MongoDB and Redis, but
under ids of its own ("srv-" and a counter), and prints the mapping the suite and the generator
then use: {"conferenceId": ..., "questionIds": {their id: ours}}.
"""
import json
import subprocess
import sys
import time

from pymongo import MongoClient


def main() -> int:
    redis_url, mongo_url, mongo_db = sys.argv[1:4]
    step = json.load(sys.stdin)
    if step.get("step") != "create":
        print(f"only create, not {step.get('step')!r}", file=sys.stderr)
        return 2
    conf = step["conference"]
    stamp = f"{time.time_ns():x}"
    cid = f"srv-{stamp}"
    db = MongoClient(mongo_url, serverSelectionTimeoutMS=5000)[mongo_db]
    db.conferences.insert_one({"_id": cid, "title": conf["title"], "hostId": conf["hostUserId"],
                               "status": conf["status"]})
    ids = {}
    for order, q in enumerate(conf["questions"]):
        qid = f"srv-{stamp}-{order}"
        ids[q["questionId"]] = qid
        db.conferencequestions.insert_one({
            "_id": qid, "conferenceId": cid, "order": order, "questionText": q["questionText"],
            "options": q["options"], "correctOption": q["correctOption"], "status": "IDLE",
        })
    subprocess.run(["redis-cli", "-u", redis_url, "SET", f"conference:{cid}:host", conf["hostUserId"]],
                   check=True, stdout=subprocess.DEVNULL)
    if conf["status"] in ("ACTIVE", "ENDED"):
        subprocess.run(["redis-cli", "-u", redis_url, "SET", f"conference:{cid}:status", conf["status"]],
                       check=True, stdout=subprocess.DEVNULL)
    print(json.dumps({"conferenceId": cid, "questionIds": ids}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

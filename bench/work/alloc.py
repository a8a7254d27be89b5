# alloc.py - an allocation-heavy python3 workload for bench/: builds
# records as dicts, serializes them to JSON and back, groups and sorts them,
# and grows large strings and lists, so CPython calls malloc for its larger
# objects (its own small-object allocator serves blocks up to 512 bytes).
# Prints a checksum so a changed result would show.
import json
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 60000
recs = []
for i in range(n):
    recs.append({"id": i, "name": "user%07d" % i, "tags": ["t%d" % (i % 17), "g%d" % (i % 5)],
                 "score": (i * 7919) % 1000 / 7.0, "blob": "x" * (i % 300 + 100)})
text = json.dumps(recs)
back = json.loads(text)
groups = {}
for r in back:
    groups.setdefault(r["tags"][0], []).append(r)
total = 0
for k in sorted(groups):
    g = sorted(groups[k], key=lambda r: (r["score"], r["id"]))
    total += sum(len(r["blob"]) for r in g[:1000])
    total += len(",".join(r["name"] for r in g))
parts = []
for i in range(n // 4):
    parts.append(str(i) * (i % 50 + 1))
big = "|".join(parts)
total += len(big) + len(text)
print(total)

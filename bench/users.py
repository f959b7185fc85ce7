#!/usr/bin/env python3
"""Write the bench's users as import lines (docs/import.md): users.py FIRST COUNT > users.ndjson

User i has the id 00000000-0000-4000-8000-<i in 12 hex digits> (so the load
scripts can pick existing ids without reading them back), the username and
e-mail user<i>@bench.example, and a spread of values that the list
scenarios filter on:

- status: 1 in 20 INACTIVE, 1 in 20 BLOCKED, the rest ACTIVE;
- roles: 1 in 10 POWER_USER, the rest STANDARD_USER;
- organization: a membership in org_<i mod 100> (1 in 100 per organization);
- first name: 1 in 10 starts with "Jo" (the name-prefix filter).

Every user has the same pre-made argon2id hash (of "correct horse battery
staple", cheap parameters): stored as it is, never verified by the bench.
"""
import sys

HASH = "$argon2id$v=19$m=512,t=2,p=2$d4TrrX0AzC8LDt8Sb86Tsg$1vVEZFaBrJjD/SD7fSAa+0v3I1TBhDt8Mjb8piR+13Q"
FIRST = ["John", "Ada", "Grace", "Linus", "Marie", "Alan", "Edsger", "Barbara", "Ken", "Radia"]
LAST = ["Lovelace", "Hopper", "Turing", "Curie", "Knuth", "Liskov", "Thompson", "Perlman", "Dijkstra", "Ritchie"]


def line(i):
    status = "INACTIVE" if i % 20 == 1 else "BLOCKED" if i % 20 == 2 else "ACTIVE"
    role = "POWER_USER" if i % 10 == 3 else "STANDARD_USER"
    return (
        f'{{"id":"00000000-0000-4000-8000-{i:012x}","username":"user{i}@bench.example",'
        f'"email":"user{i}@bench.example","passwordHash":"{HASH}",'
        f'"firstName":"{FIRST[i % 10]}","lastName":"{LAST[(i // 10) % 10]}",'
        f'"roles":["{role}"],"status":"{status}",'
        f'"memberships":[{{"organization":"org_{i % 100}","roles":[],"permissions":[]}}]}}\n'
    )


def main():
    first, count = int(sys.argv[1]), int(sys.argv[2])
    out = sys.stdout
    for start in range(first, first + count, 10000):
        out.write("".join(line(i) for i in range(start, min(start + 10000, first + count))))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Generate Arbor's example task sets and search corpus.

Writes, next to this script (or under --out):
  tasks/math.jsonl        arithmetic word problems that want the `calculator` tool
  tasks/search_qa.jsonl   questions answerable only from the shipped corpus (`search` tool)
  tasks/math_train.jsonl  short calculator questions in six levels of difficulty (training set)
  tasks/math_eval.jsonl   held-out calculator questions, none of them in the training set
  tasks/warm_start.jsonl  correct tool-using conversations for the first training tasks, the
                          supervised warm start (`arbor model render` turns them into token ids)
  corpus/*.txt            invented encyclopedia passages, one passage per paragraph

Everything is derived from one seeded random generator and the Python standard library, so the
same seed always gives byte-identical files. `--check` regenerates into memory and exits 1 if
the files on disk differ (use it in CI to keep the committed files and this script in step).

The corpus is fiction on purpose: every place, person and invention is made up, so a model can
only answer the questions by searching, never from what it memorised in pre-training.

Usage:
  python3 examples/generate.py                 # rewrite the files
  python3 examples/generate.py --check         # verify the committed files
  python3 examples/generate.py --seed 7 --out /tmp/ex --math 500 --search 150
"""

import argparse
import json
import random
import sys
from pathlib import Path

# ---------------------------------------------------------------------------------------------
# Math: multi-digit arithmetic a 135M model cannot do in its head, worded as small stories.


def fmt_cents(cents):
    """A money amount given in cents as a plain decimal string without trailing zeros."""
    whole, frac = divmod(cents, 100)
    return str(whole) if frac == 0 else f"{whole}.{frac:02d}".rstrip("0")


def math_product(r):
    a, b = r.randint(120, 9800), r.randint(13, 480)
    item, unit = r.choice([("crates", "bolts"), ("pallets", "bricks"), ("sacks", "beans"),
                           ("boxes", "nails"), ("cartons", "eggs"), ("shelves", "jars")])
    return (f"A warehouse has {a} {item} and each one holds {b} {unit}. "
            f"How many {unit} are in the warehouse?", a * b)


def math_rate(r):
    a, b = r.randint(37, 960), r.randint(45, 720)
    what, per = r.choice([("A pump moves", "litres of water"), ("A press prints", "pages"),
                          ("A mill grinds", "grams of flour"), ("A loom weaves", "centimetres of cloth")])
    return (f"{what} {a} {per} every minute. How many {per} does it handle in {b} minutes?", a * b)


def math_sum(r):
    months = ["January", "February", "March", "April", "May", "June"]
    start = r.randint(0, 2)
    values = [r.randint(1200, 98000) for _ in range(4)]
    thing = r.choice(["books", "tickets", "loaves of bread", "bicycles", "umbrellas"])
    parts = ", ".join(f"{v} in {m}" for v, m in zip(values[:3], months[start:start + 3]))
    return (f"A shop sold {thing} as follows: {parts} and {values[3]} in {months[start + 3]}. "
            f"How many {thing} did it sell in these four months altogether?", sum(values))


def math_difference(r):
    a = r.randint(250000, 990000)
    b = r.randint(12000, a - 1000)
    return (f"A reservoir held {a} litres of water. After a dry month it held {b} litres. "
            f"How many litres were lost during the month?", a - b)


def math_division(r):
    k, q = r.randint(12, 96), r.randint(140, 2600)
    thing = r.choice(["screws", "marbles", "seeds", "buttons", "stamps"])
    return (f"A factory packed {k * q} {thing} into bags of {k} {thing} each, with none left over. "
            f"How many bags did it fill?", q)


def math_two_step(r):
    a, b = r.randint(24, 980), r.randint(12, 144)
    c = r.randint(3, b - 1)
    return (f"A school orders {a} boxes of pencils with {b} pencils in each box, plus {c} loose "
            f"pencils. How many pencils does it order in total?", a * b + c)


def math_price(r):
    cents, n = r.randint(105, 9899), r.randint(17, 640)
    item = r.choice(["notebook", "teapot", "lamp", "kite", "toolbox", "blanket"])
    return (f"A {item} costs {fmt_cents(cents)} dollars. How many dollars do {n} of them cost?",
            fmt_cents(cents * n))


def math_area(r):
    a, b = r.randint(105, 4800), r.randint(64, 2900)
    return (f"A rectangular field is {a} metres long and {b} metres wide. "
            f"What is its area in square metres?", a * b)


def math_leftover(r):
    a, b = r.randint(140, 2400), r.randint(14, 95)
    c = r.randint(a, a * b - 1)
    return (f"An orchard harvested {a} kilograms of apples every day for {b} days and then sold "
            f"{c} kilograms. How many kilograms of apples are left?", a * b - c)


def math_average(r):
    loads = [r.randint(1500, 9900) for _ in range(2)]
    third = r.randint(1500, 9900)
    third += (-(sum(loads) + third)) % 3  # make the mean a whole number
    loads.append(third)
    return (f"Three trucks carried {loads[0]}, {loads[1]} and {loads[2]} kilograms of grain. "
            f"What was the average load in kilograms?", sum(loads) // 3)


def math_square(r):
    a = r.randint(123, 989)
    return (f"A square courtyard is paved with {a} rows of {a} tiles each. "
            f"How many tiles does it have?", a * a)


MATH_TEMPLATES = [math_product, math_rate, math_sum, math_difference, math_division,
                  math_two_step, math_price, math_area, math_leftover, math_average, math_square]


def make_math(r, count):
    rows, seen = [], set()
    while len(rows) < count:
        prompt, answer = MATH_TEMPLATES[len(rows) % len(MATH_TEMPLATES)](r)
        if prompt in seen:
            continue
        seen.add(prompt)
        rows.append({"prompt": prompt, "answer": str(answer), "verifier": "numeric",
                     "tools": ["calculator"]})
    r.shuffle(rows)
    return [{"id": f"math-{i + 1:04d}", **row} for i, row in enumerate(rows)]


# ---------------------------------------------------------------------------------------------
# Search QA: an invented world of places, people and inventions, rendered as passages, with
# questions drawn from the same facts (so every answer is in the corpus, and only there).

ONSETS = ["b", "br", "d", "dr", "f", "g", "k", "kh", "l", "m", "n", "p", "r", "s", "sk", "t",
          "th", "v", "w", "z", "qu", "st", "h", "y"]
VOWELS = ["a", "e", "i", "o", "u", "ae", "ei", "ou", "ia", "y"]
CODAS = ["", "", "n", "r", "l", "s", "th", "m", "nd", "rk", "sk", "x"]
PLACE_ENDINGS = ["holt", "mere", "wick", "stad", "port", "by", "ford", "ven", "dal", "rin"]
INVENTION_ENDINGS = ["scope", "meter", "graph", "wheel", "loom", "lamp", "press", "phone", "lock"]

PLACE_KINDS = ["river town", "mountain village", "port city", "island town", "market town",
               "lake village"]
PRODUCTS = ["blue glassware", "salt-cured eel", "copper bells", "felt hats", "rope ladders",
            "pear brandy", "slate roof tiles", "painted kites", "goat cheese", "silver thread",
            "clay whistles", "walnut furniture", "dyed wool", "paper lanterns", "smoked trout",
            "iron anchors", "honey cakes", "reed baskets", "stone mills", "wax candles"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
PROFESSIONS = ["clockmaker", "cartographer", "glassblower", "astronomer", "shipwright",
               "apothecary", "engineer", "weaver", "bookbinder", "bellfounder", "surveyor",
               "chemist"]
MATERIALS = ["brass", "copper", "oak", "bone", "tin", "glass", "bronze", "cedar", "iron",
             "porcelain", "silver", "walnut"]
PURPOSES = ["measure the depth of rivers", "count passing ships", "keep bread warm overnight",
            "record the pressure of the wind", "sort seeds by weight", "signal between hilltops",
            "spin wool without a treadle", "lift water from deep wells",
            "time the tides of a harbour", "copy maps by tracing", "weigh letters for the post",
            "light mine tunnels without flame", "predict frost on orchards",
            "wind clocks automatically", "test the purity of silver", "press flowers for herbaria"]


class NameMaker:
    """Pronounceable invented names; none repeats and none is a substring of another."""

    def __init__(self, r):
        self.r, self.used = r, []

    def _stem(self, syllables):
        return "".join(self.r.choice(ONSETS) + self.r.choice(VOWELS) +
                       (self.r.choice(CODAS) if i == syllables - 1 else "")
                       for i in range(syllables))

    def make(self, build):
        while True:
            name = build()
            low = name.lower()
            if len(low) >= 4 and not any(low in u or u in low for u in self.used):
                self.used.append(low)
                return name

    def word(self, syllables, ending=""):
        return self.make(lambda: (self._stem(syllables) + ending).capitalize())


def build_world(r):
    names = NameMaker(r)
    regions = [f"the {names.word(2)} {kind}" for kind in
               ["Marches", "Highlands", "Coast", "Basin", "Vale"]]
    products, purposes = PRODUCTS[:], PURPOSES[:]
    r.shuffle(products)
    r.shuffle(purposes)

    places = []
    for i in range(16):
        places.append({
            "name": names.word(r.choice([1, 2]), r.choice(PLACE_ENDINGS)),
            "kind": r.choice(PLACE_KINDS), "region": r.choice(regions),
            "founded": r.randint(1150, 1780), "river": names.word(2),
            "product": products[i], "festival": r.choice(MONTHS),
            "population": r.randint(8, 480) * 100,
        })
    people = []
    for _ in range(18):
        born = r.randint(1690, 1905)
        people.append({
            "name": f"{names.word(2)} {names.word(2, r.choice(['', 'er', 'ov', 'sen', 'ani']))}",
            "born": born, "died": born + r.randint(38, 91), "birthplace": r.choice(places),
            "profession": r.choice(PROFESSIONS),
        })
    inventions = []
    for i, inventor in enumerate(people[:14]):
        inventions.append({
            "name": names.word(r.choice([1, 2]), r.choice(INVENTION_ENDINGS)).lower(),
            "inventor": inventor, "year": inventor["born"] + r.randint(22, 37),
            "material": r.choice(MATERIALS), "purpose": purposes[i],
            "first_used": r.choice(places),
        })
        inventor["invention"] = inventions[-1]
    return places, people, inventions


def article(word):
    return "an" if word[0].lower() in "aeiou" else "a"


def place_passage(r, p):
    where = ("on" if p["region"].endswith("Coast") else "in") + " " + p["region"]
    lines = [f"{p['name']} is {article(p['kind'])} {p['kind']} {where}, on the banks of the River "
             f"{p['river']}." if p["kind"] != "island town" else
             f"{p['name']} is an island town {where}, at the mouth of the River {p['river']}.",
             f"It was founded in {p['founded']} and today has about {p['population']} inhabitants.",
             f"The town is best known for its {p['product']}, "
             + r.choice(["which traders carry across the region.", "sold at every market nearby.",
                         "made there for generations."]),
             r.choice([f"Every {p['festival']} it holds a week-long fair.",
                       f"Its yearly fair takes place in {p['festival']}.",
                       f"Each year in {p['festival']} the town holds a fair that draws visitors "
                       f"from far away."])]
    if r.random() < 0.5:
        lines[2], lines[3] = lines[3], lines[2]
    return " ".join(lines)


def person_passage(r, q):
    inv = q.get("invention")
    lines = [f"{q['name']} ({q['born']}-{q['died']}) was {article(q['profession'])} "
             f"{q['profession']} born in "
             f"{q['birthplace']['name']}."]
    if inv:
        lines.append(f"In {inv['year']} {q['name'].split()[0]} built the first {inv['name']}, "
                     f"a device to {inv['purpose']}.")
    lines.append(r.choice([
        f"Letters from {q['name'].split()[-1]} survive in the archive of {q['birthplace']['name']}.",
        f"A street in {q['birthplace']['name']} is named after {q['name'].split()[-1]}.",
        f"{q['name'].split()[-1]} trained several apprentices and never left the {q['profession']}'s trade.",
    ]))
    return " ".join(lines)


def invention_passage(r, v):
    lines = [f"The {v['name']} is a device to {v['purpose']}.",
             f"It was invented in {v['year']} by the {v['inventor']['profession']} "
             f"{v['inventor']['name']}.",
             f"Early models were made of {v['material']}.",
             f"It was first put to use in {v['first_used']['name']}."]
    if r.random() < 0.5:
        lines[2], lines[3] = lines[3], lines[2]
    return " ".join(lines)


def questions(places, people, inventions):
    """Every question the facts support, as (prompt, answer, hops)."""
    out = []
    for p in places:
        n = p["name"]
        out += [(f"In what year was the town of {n} founded?", str(p["founded"]), 1),
                (f"Which river flows past {n}?", p["river"], 1),
                (f"What product is the town of {n} best known for?", p["product"], 1),
                (f"In which month does {n} hold its yearly fair?", p["festival"], 1)]
    for q in people:
        n = q["name"]
        out += [(f"In what year was {n} born?", str(q["born"]), 1),
                (f"In which town was {n} born?", q["birthplace"]["name"], 1),
                (f"What was the profession of {n}?", q["profession"], 1)]
        if "invention" in q:
            out.append((f"What device did {n} invent?", q["invention"]["name"], 1))
    for v in inventions:
        n = v["name"]
        out += [(f"Who invented the {n}?", v["inventor"]["name"], 1),
                (f"In what year was the {n} invented?", str(v["year"]), 1),
                (f"What were the early models of the {n} made of?", v["material"], 1),
                (f"In which town was the {n} first put to use?", v["first_used"]["name"], 1),
                (f"In which town was the inventor of the {n} born?",
                 v["inventor"]["birthplace"]["name"], 2),
                (f"Which river flows past the town where the {n} was first used?",
                 v["first_used"]["river"], 2),
                (f"What product is the birthplace of the inventor of the {n} known for?",
                 v["inventor"]["birthplace"]["product"], 2)]
    return out


def make_search(r, count):
    places, people, inventions = build_world(r)
    corpus = {
        "places.txt": [place_passage(r, p) for p in places],
        "people.txt": [person_passage(r, q) for q in people],
        "inventions.txt": [invention_passage(r, v) for v in inventions],
    }
    pool = questions(places, people, inventions)
    r.shuffle(pool)
    # About one question in five needs two searches (a fact about an entity found by the first).
    two_hop = [q for q in pool if q[2] == 2][:count // 5]
    picked = two_hop + [q for q in pool if q[2] == 1][:count - len(two_hop)]
    r.shuffle(picked)
    rows = [{"id": f"search-{i + 1:04d}", "prompt": prompt, "answer": answer,
             "verifier": "contains", "tools": ["search"]}
            for i, (prompt, answer, _) in enumerate(picked)]
    return rows, corpus


# ---------------------------------------------------------------------------------------------
# Calculator tasks: short arithmetic questions in six levels of difficulty, from sums a model may
# work out in its head to products it cannot, each with the one calculator expression that solves
# it. The training set, the held-out eval set and the warm-start traces come from one pool of
# distinct questions, so no eval question is ever trained on.


def calc_sum(r):
    a, b = r.randint(11, 99), r.randint(11, 99)
    return f"What is {a} + {b}?", f"{a} + {b}", a + b


def calc_small_product(r):
    a, b = r.randint(12, 99), r.randint(3, 9)
    return f"What is {a} * {b}?", f"{a} * {b}", a * b


def calc_difference(r):
    a = r.randint(1200, 9800)
    b = r.randint(110, a - 100)
    return f"What is {a} - {b}?", f"{a} - {b}", a - b


def calc_product(r):
    a, b = r.randint(13, 99), r.randint(13, 99)
    return f"What is {a} * {b}?", f"{a} * {b}", a * b


def calc_story(r):
    a, b = r.randint(12, 240), r.randint(6, 48)
    box, thing = r.choice([("box", "pens"), ("crate", "apples"), ("bag", "marbles"),
                           ("shelf", "books"), ("tray", "cups"), ("jar", "coins")])
    return (f"A {box} holds {b} {thing}. How many {thing} are in {a} of them?", f"{a} * {b}", a * b)


def calc_large_product(r):
    a, b = r.randint(102, 989), r.randint(13, 99)
    return f"What is {a} * {b}?", f"{a} * {b}", a * b


# Level n (1-based) is CALC_LEVELS[n - 1]: roughly how hard the question is without the tool.
CALC_LEVELS = [calc_sum, calc_small_product, calc_difference, calc_product, calc_story,
               calc_large_product]


# The 135M base model does not call a tool from a description in the system prompt (measured:
# 0 calls in 32 trajectories), but it copies a call written out in the user turn. So every
# question ends with how to call the calculator: on even levels with this question's own
# expression (the model only has to copy it and then the result), on odd levels with an example
# expression the model must replace with the question's numbers.
CALC_EXAMPLE = "12 * 34"


def calc_instruction(expression):
    call = json.dumps({"name": "calculator", "arguments": {"expression": expression}})
    if expression == CALC_EXAMPLE:
        first = f"First reply with a line like <tool_call>{call}</tool_call> but with this question's numbers."
    else:
        first = f"First reply with exactly this line and nothing else: <tool_call>{call}</tool_call>"
    return f"\n{first}\nThen reply with the number the calculator returns inside <answer></answer>."


def make_calc(r, counts):
    """Distinct calculator questions split into parts, {part: rows}, each part holding every
    level in equal shares (the first levels take the remainder) in shuffled order.

    `counts` is [(part, count, id prefix)]. Every row keeps its `level` and the `expression`
    that solves it (fields a task set ignores), for the warm-start traces and for analyses.
    """
    levels = len(CALC_LEVELS)
    wanted = [sum(count // levels + (level < count % levels) for _, count, _ in counts)
              for level in range(levels)]
    pools, seen = [[] for _ in range(levels)], set()
    for level, make in enumerate(CALC_LEVELS):
        while len(pools[level]) < wanted[level]:
            prompt, expression, answer = make(r)
            if prompt in seen:
                continue
            seen.add(prompt)
            hint = expression if (level + 1) % 2 == 0 else CALC_EXAMPLE
            pools[level].append({"prompt": prompt + calc_instruction(hint), "answer": str(answer),
                                 "verifier": "numeric",
                                 "tools": ["calculator"], "level": level + 1,
                                 "expression": expression})
    parts = {}
    for part, count, prefix in counts:
        rows = []
        for level in range(levels):
            take = count // levels + (level < count % levels)
            rows += pools[level][:take]
            pools[level] = pools[level][take:]
        r.shuffle(rows)
        parts[part] = [{"id": f"{prefix}-{i + 1:04d}", **row} for i, row in enumerate(rows)]
    return parts


def tool_call_text(name, arguments):
    """An assistant step calling one tool, in the form the tools block of the prompt shows."""
    call = json.dumps({"name": name, "arguments": arguments})
    return f"<tool_call>\n{call}\n</tool_call>"


def calc_trace(row):
    """A correct tool-using conversation for one calculator task, after its prompt: the call,
    the calculator's response (its exact output for an integer result) and the tagged answer."""
    return {"task": row["id"], "messages": [
        {"role": "assistant", "content": tool_call_text("calculator", {"expression": row["expression"]})},
        {"role": "tool", "content": row["answer"]},
        {"role": "assistant", "content": f"<answer>{row['answer']}</answer>"},
    ]}


# ---------------------------------------------------------------------------------------------


def jsonl(rows):
    return "".join(json.dumps(row) + "\n" for row in rows)


def render(seed, math_count, search_count, train_count=600, eval_count=128, warm_count=240):
    """All generated files as {relative path: text}."""
    math_rows = make_math(random.Random(f"math-{seed}"), math_count)
    search_rows, corpus = make_search(random.Random(f"search-{seed}"), search_count)
    calc = make_calc(random.Random(f"calc-{seed}"), [("train", train_count, "math-train"),
                                                      ("eval", eval_count, "math-eval")])
    files = {
        "tasks/math.jsonl": jsonl(math_rows),
        "tasks/search_qa.jsonl": jsonl(search_rows),
        "tasks/math_train.jsonl": jsonl(calc["train"]),
        "tasks/math_eval.jsonl": jsonl(calc["eval"]),
        # The warm start covers the first training tasks (the sets are shuffled, so every
        # level is represented); RL later sees these tasks too, never the eval set.
        "tasks/warm_start.jsonl": jsonl(calc_trace(row) for row in calc["train"][:warm_count]),
    }
    for name, passages in corpus.items():
        files[f"corpus/{name}"] = "\n\n".join(passages) + "\n"
    return files


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="directory to write into (default: this script's directory)")
    parser.add_argument("--seed", type=int, default=0, help="generator seed (default 0)")
    parser.add_argument("--math", type=int, default=200, help="number of math tasks")
    parser.add_argument("--search", type=int, default=100, help="number of search tasks")
    parser.add_argument("--train", type=int, default=600,
                        help="number of calculator training tasks (tasks/math_train.jsonl)")
    parser.add_argument("--eval", type=int, default=128,
                        help="number of held-out calculator tasks (tasks/math_eval.jsonl)")
    parser.add_argument("--warm", type=int, default=240,
                        help="number of warm-start traces, over the first training tasks")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the files on disk differ")
    args = parser.parse_args()

    if args.warm > args.train:
        parser.error("--warm cannot exceed --train: the traces are of training tasks")
    files = render(args.seed, args.math, args.search, args.train, args.eval, args.warm)
    stale = []
    for rel, text in files.items():
        path = args.out / rel
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(rel)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path} ({text.count(chr(10))} lines)")
    if stale:
        print("out of date (run examples/generate.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

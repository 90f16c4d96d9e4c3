"""A template cannot stall or exhaust the process: every way of making work or memory is bounded
while rendering, and going past a bound stops the render with a message naming the limit and
the line. Each case ran (or hung, or allocated gigabytes) before the limits existed."""

import tracemalloc

import pytest

from services.core.errors import ValidationError
from services.templates import sandbox
from services.templates.rendering import compile_template

TEXT = "word " * 200_000  # an item's long extracted text: 1,000,000 characters

RANGE = "10,000 numbers per range"
LOOPS = "100,000 iterations per render"
TEXT_LIMIT = "1,000,000 characters per value"
ITEMS = "1,000,000 items per value"
OUTPUT = "the rendered prompt is past the limit of 1,000,000 characters"
TIME = "1 s per render"

HOSTILE = [
    pytest.param("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", RANGE, id="nested-range-100000"),
    pytest.param("{% for a in range(1000) %}\n{% for b in range(1000) %}{% endfor %}{% endfor %}", LOOPS, id="nested-loops"),
    pytest.param("{% macro m(n) %}{{ m(n + 1) }}{% endmacro %}{{ m(1) }}", "calls itself too deeply", id="endless-recursion"),
    pytest.param("{{ 'x'.center(10**9) }}", TEXT_LIMIT, id="center-method"),
    pytest.param("{{ 'x'.ljust(10**9) }}", TEXT_LIMIT, id="ljust-method"),
    pytest.param("{{ '1'.zfill(10**9) }}", TEXT_LIMIT, id="zfill-method"),
    pytest.param("{{ 'x'|center(1000000000) }}", TEXT_LIMIT, id="center-filter-constant"),
    pytest.param("{{ '%1000000000d'|format(1) }}", TEXT_LIMIT, id="format-filter-width"),
    pytest.param("{{ '%(a)100000d' * 10 % {'a': 1} }}", TEXT_LIMIT, id="percent-repeated-fields"),
    pytest.param("{{ '%1000000000d' % 1 }}", TEXT_LIMIT, id="percent-operator-width"),
    pytest.param("{{ '{:1000000000}'.format(1) }}", TEXT_LIMIT, id="str-format-width"),
    pytest.param("{{ '{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}'.format(text) }}", TEXT_LIMIT, id="str-format-repeats"),
    pytest.param("{{ 'x'|indent(10**9, true) }}", TEXT_LIMIT, id="indent-width"),
    pytest.param("{{ ('x\\n' * 100000)|indent(100000) }}", TEXT_LIMIT, id="indent-lines"),
    pytest.param("{{ ('x' * 100000)|replace('x', 'y' * 100000) }}", TEXT_LIMIT, id="replace-filter"),
    pytest.param("{{ ('x' * 100000).replace('x', 'y' * 100000) }}", TEXT_LIMIT, id="replace-method"),
    pytest.param("{{ ('y' * 100000).join(['x'] * 100000) }}", TEXT_LIMIT, id="join-method"),
    pytest.param("{{ (['x'] * 100000)|join('y' * 100000) }}", TEXT_LIMIT, id="join-filter"),
    pytest.param("{{ ([text] * 1000)|join }}", TEXT_LIMIT, id="join-references"),
    pytest.param("{{ ('\\t' * 100000).expandtabs(100000) }}", TEXT_LIMIT, id="expandtabs"),
    pytest.param("{{ ('x' * 100000).translate({120: 'y' * 100000}) }}", TEXT_LIMIT, id="translate"),
    pytest.param("{{ ('x ' * 100000)|wordwrap(1, wrapstring='y' * 100000) }}", TEXT_LIMIT, id="wordwrap"),
    pytest.param("{{ {'a': [1, 2]}|tojson(1000000000) }}", TEXT_LIMIT, id="tojson-indent"),
    pytest.param("{{ (1).to_bytes(10**9, 'big')|length }}", TEXT_LIMIT, id="to-bytes"),
    pytest.param("{{ lipsum(1000000, max=1000000) }}", TEXT_LIMIT, id="lipsum"),
    pytest.param("{{ [1]|batch(10**9, 'x')|list }}", ITEMS, id="batch-fill"),
    pytest.param("{{ ([[1] * 1000] * 1000)|sum(start=[]) }}", "adds numbers", id="sum-of-lists"),
    pytest.param("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", TEXT_LIMIT, id="concat-doubling"),
    pytest.param("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", TEXT_LIMIT, id="plus-doubling"),
    pytest.param("{{ text ~ text ~ text ~ text ~ text ~ text ~ text ~ text ~ text ~ text ~ text ~ text }}", TEXT_LIMIT, id="concat-chain"),
    pytest.param("{{ 'a' ~ [text] * 1000 }}", TEXT_LIMIT, id="concat-of-a-list"),
    pytest.param("{{ [text] * 1000 }}", TEXT_LIMIT, id="printing-a-list"),
    pytest.param("{{ ([text] * 1000)|string }}", TEXT_LIMIT, id="string-filter"),
    pytest.param("{% macro m() %}{% for i in range(10000) %}{{ 'x' * 100000 }}{% endfor %}{% endmacro %}{{ m()|length }}", TEXT_LIMIT, id="macro-output"),
    pytest.param("{% set s %}{% for i in range(10000) %}{{ text }}{% endfor %}{% endset %}{{ s|length }}", TEXT_LIMIT, id="block-set"),
    pytest.param("Intro\n{% for i in range(10000) %}{{ 'x' * 100000 }}{% endfor %}", OUTPUT, id="output-grows"),
    pytest.param("{% for i in range(100) %}{{ text|wordcount }}{% endfor %}", TIME, id="slow-filter-in-a-loop"),
    pytest.param("{{ 9 ** 99 ** 99 ** 99 }}", "1,000 digits", id="power"),
]

MEMORY_CEILING_BYTES = 64 * 1024 * 1024  # a hostile render may hold a few values at the limit, never gigabytes
SLOW_MACHINE_TIME_LIMIT_S = 120.0


def without_the_time_limit(monkeypatch):
    """On a loaded machine 100,000 iterations under tracemalloc can take a second: the cases
    that test another limit get time enough to reach it."""
    monkeypatch.setattr(sandbox, "RENDER_TIME_LIMIT_S", SLOW_MACHINE_TIME_LIMIT_S)


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("text", "limit"), HOSTILE)
def test_a_hostile_template_stops_with_the_limit_and_line_without_exhausting_memory(text, limit, monkeypatch):
    if limit != TIME:
        without_the_time_limit(monkeypatch)
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError) as error:
            compile_template(text).render({"text": TEXT, "items": [1, 2, 3]})
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(error.value)
    assert message.startswith("Line "), message
    assert limit in message, message
    assert peak < MEMORY_CEILING_BYTES, f"peak {peak:,} bytes"


def test_the_line_named_is_the_line_that_went_past_the_limit():
    with pytest.raises(ValidationError, match=r"^Line 3: .*10,000 numbers per range"):
        compile_template("Intro\n{{ x }}\n{% for i in range(20000) %}{% endfor %}").render({"x": 1})
    with pytest.raises(ValidationError, match=r"^Line 2: .*past the limit of 1,000,000 characters"):
        compile_template("Intro\n{% for i in range(100) %}{{ text }}{% endfor %}\nEnd").render({"text": TEXT})


def test_the_items_of_a_recursive_loop_count_against_the_same_budget(monkeypatch):
    without_the_time_limit(monkeypatch)
    text = (
        "{% for x in [range(10000)] * 6 recursive %}{% if x is iterable %}{{ loop(x) }}{% endif %}{% endfor %}\n"
        "{% for i in range(10000) %}{% for j in range(5) %}{% endfor %}{% endfor %}"
    )
    with pytest.raises(ValidationError, match=r"^Line 2: .*100,000 iterations per render"):  # 60,006 + 60,000
        compile_template(text).render({})


def test_ordinary_templates_render_as_before_within_the_limits():
    text = (
        "{% for w in words %}{{ loop.index }}. {{ w|center(9) }}{{ '%05.1f'|format(n) }}{% endfor %}\n"
        "{{ '{:>6}'.format(n) }} {{ ', '.join(words) }} {{ words|join('/') }} {{ (words|tojson(2))|length }}\n"
        "{{ 'ab' ~ 'cd' + 'ef' }} {{ range(3)|list }} {{ [1, 2]|batch(3, 0)|list }} {{ [1.5, 2]|sum }}"
    )
    rendered = compile_template(text).render({"words": ["a", "b"], "n": 3.25})
    assert rendered == (
        "1.     a    003.22.     b    003.2\n"
        "  3.25 a, b a/b 16\n"
        "abcdef [0, 1, 2] [[1, 2, 0]] 3.5"
    )


def test_a_render_past_a_limit_leaves_the_next_render_its_whole_budget():
    slow = compile_template("{% for i in range(100) %}{{ text|wordcount }}{% endfor %}")
    with pytest.raises(ValidationError, match="1 s per render"):
        slow.render({"text": TEXT})
    loops = compile_template("{% for a in range(300) %}{% for b in range(300) %}{% endfor %}{% endfor %}done")
    assert loops.render({}) == "done"  # 90,000 iterations: within the budget of a fresh render

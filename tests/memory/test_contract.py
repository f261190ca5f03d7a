"""The memory contract, run against every backend: the same calls give the same answers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from aos_core.execution.clock import VirtualClock
from aos_core.memory import Memory, MemoryItem, SearchHit


def keys(hits: list[SearchHit]) -> list[tuple[tuple[str, ...], str]]:
    return [(h.namespace, h.key) for h in hits]


def test_put_then_get_returns_the_value_and_the_clock_times(memory: Memory, clock: VirtualClock) -> None:
    """A put is read back whole, stamped with the memory clock's time."""
    stored = memory.put(("users", "u1"), "prefs", {"food": "pizza", "n": 1})
    assert memory.get(("users", "u1"), "prefs") == stored
    assert stored.value == {"food": "pizza", "n": 1}
    assert stored.created_at == stored.updated_at == clock.now()
    assert stored.expires_at is None


def test_a_second_put_replaces_the_value_and_keeps_created_at(memory: Memory, clock: VirtualClock) -> None:
    """created_at is when the key was first put; updated_at moves with each put."""
    first = memory.put(("n",), "k", 1)
    clock.advance(10)
    second = memory.put(("n",), "k", 2)
    assert second.value == 2 and second.created_at == first.created_at
    assert second.updated_at == first.created_at + timedelta(seconds=10)
    assert memory.get(("n",), "k") == second


def test_missing_items_are_none_and_delete_says_whether_it_found_one(memory: Memory) -> None:
    """get of nothing is None; delete is True once, then False."""
    assert memory.get(("n",), "nothing") is None
    memory.put(("n",), "k", "v")
    assert memory.delete(("n",), "k") is True
    assert memory.delete(("n",), "k") is False
    assert memory.get(("n",), "k") is None
    assert memory.search(("n",)) == []


VALUES: list[Any] = [
    None,
    True,
    0,
    -(2**62),
    2**70,
    3.141592653589793,
    1e-300,
    "",
    "plain",
    "ünïcødé 漢字 🙂 \u200b",
    [],
    [1, "two", None, [3.5, {"x": False}]],
    {},
    {"z": 1, "a": 2, "m": {"y": [], "b": "c"}},
    {"quote\"s": "back\\slash", "nl": "line\nbreak\ttab"},
]


@pytest.mark.parametrize("value", VALUES, ids=[repr(v)[:30] for v in VALUES])
def test_every_json_value_comes_back_equal_with_its_key_order(memory: Memory, value: Any) -> None:
    """JSON values round-trip exactly, object key order included (jsonb would reorder them)."""
    memory.put(("v",), "k", value)
    got = memory.get(("v",), "k")
    assert got is not None
    assert got.value == value and type(got.value) is type(value)
    if isinstance(value, dict):
        assert list(got.value) == list(value)


def test_unicode_namespaces_keys_and_search(memory: Memory) -> None:
    """Labels, keys and words may be any script; search finds words in them."""
    memory.put(("用户", "José"), "ключ 🙂", {"note": "Grüße aus Köln, 東京 too"})
    assert memory.get(("用户", "José"), "ключ 🙂") is not None
    assert memory.list_namespaces() == [("用户", "José")]
    assert keys(memory.search(("用户",), query="grüße")) == [(("用户", "José"), "ключ 🙂")]
    assert keys(memory.search(("用户",), query="東京")) == [(("用户", "José"), "ключ 🙂")]


def test_a_big_value_round_trips(memory: Memory) -> None:
    """A value of about 2 MB (text and a long list) is stored and read back whole."""
    value = {"text": "lorem ipsum dolor " * 120_000, "numbers": list(range(50_000))}
    memory.put(("big",), "k", value)
    got = memory.get(("big",), "k")
    assert got is not None and got.value == value
    assert keys(memory.search(("big",), query="dolor")) == [(("big",), "k")]


def test_a_value_over_the_limit_is_refused(open_memory: Any) -> None:
    """max_value_bytes caps the JSON size, with a message that gives both sizes."""
    from aos_core.memory import MemoryInputError

    memory = open_memory(max_value_bytes=100)
    memory.put(("n",), "ok", "x" * 90)
    with pytest.raises(MemoryInputError, match=r"value is 103 bytes as JSON; the limit is 100"):
        memory.put(("n",), "big", "x" * 101)


def test_ttl_hides_the_item_once_it_expires(memory: Memory, clock: VirtualClock) -> None:
    """Before its TTL the item is everywhere; at and after it, nowhere."""
    stored = memory.put(("t",), "k", "soon gone", ttl=5)
    assert stored.expires_at == stored.created_at + timedelta(seconds=5)
    clock.advance(4.999)
    assert memory.get(("t",), "k") is not None
    assert len(memory.search(("t",), query="gone")) == 1
    clock.advance(0.001)
    assert memory.get(("t",), "k") is None
    assert memory.search(("t",)) == [] and memory.search(("t",), query="gone") == []
    assert memory.list_namespaces() == []
    assert memory.delete(("t",), "k") is False


def test_a_put_after_expiry_starts_a_new_item(memory: Memory, clock: VirtualClock) -> None:
    """An expired key put again gets a new created_at; a put without ttl clears the expiry."""
    memory.put(("t",), "k", 1, ttl=1)
    clock.advance(2)
    again = memory.put(("t",), "k", 2)
    assert again.created_at == clock.now() and again.expires_at is None
    clock.advance(100)
    assert memory.get(("t",), "k") == again


def test_expired_items_are_purged_by_later_writes(memory: Memory, clock: VirtualClock, store_url: str) -> None:
    """Expired rows leave the store lazily: the next write deletes them."""
    for i in range(5):
        memory.put(("t",), f"k{i}", i, ttl=1)
    clock.advance(2)
    assert _rows(store_url) == 5
    memory.put(("other",), "k", "new")
    assert _rows(store_url) == 1


def _rows(url: str) -> int:
    if url.startswith("sqlite://"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite://").split("?")[0]) as db:
            return int(db.execute("SELECT count(*) FROM memory_items").fetchone()[0])
    import psycopg

    base, _, schema = url.partition("?schema=")
    with psycopg.connect(base) as conn:
        found = conn.execute(f"SELECT count(*) FROM {schema}.memory_items").fetchone()
        assert found is not None
        return int(found[0])


def test_a_prefix_matches_whole_labels(memory: Memory) -> None:
    """('users',) covers ('users', ...) but not ('users2',) nor ('user',)."""
    for namespace in [("users",), ("users", "a"), ("users", "a", "deep"), ("users2",), ("user",)]:
        memory.put(namespace, "k", "v")
    assert keys(memory.search(("users",))) == [(("users",), "k"), (("users", "a"), "k"), (("users", "a", "deep"), "k")]
    assert keys(memory.search(("users", "a"))) == [(("users", "a"), "k"), (("users", "a", "deep"), "k")]
    assert len(memory.search(())) == 5


def test_list_namespaces_with_prefix_depth_and_pages(memory: Memory) -> None:
    """Namespaces come sorted, cut to max_depth without duplicates, and paged."""
    for namespace in [("b", "x"), ("a", "y", "z"), ("a", "y"), ("a", "b"), ("c",)]:
        memory.put(namespace, "k", 1)
    assert memory.list_namespaces() == [("a", "b"), ("a", "y"), ("a", "y", "z"), ("b", "x"), ("c",)]
    assert memory.list_namespaces(prefix=("a",)) == [("a", "b"), ("a", "y"), ("a", "y", "z")]
    assert memory.list_namespaces(max_depth=1) == [("a",), ("b",), ("c",)]
    assert memory.list_namespaces(prefix=["a"], max_depth=2) == [("a", "b"), ("a", "y")]
    assert memory.list_namespaces(limit=2, offset=1) == [("a", "y"), ("a", "y", "z")]


def test_search_without_a_query_lists_in_namespace_then_key_order(memory: Memory) -> None:
    """No query: every item under the prefix, by namespace then key (code points), score None."""
    for namespace, key in [(("n", "b"), "1"), (("n", "a"), "z"), (("n", "a"), "B"), (("n", "a"), "a")]:
        memory.put(namespace, key, {"k": key})
    hits = memory.search(("n",))
    assert keys(hits) == [(("n", "a"), "B"), (("n", "a"), "a"), (("n", "a"), "z"), (("n", "b"), "1")]
    assert all(h.score is None for h in hits)
    assert keys(memory.search(("n",), limit=2, offset=1)) == keys(hits)[1:3]


def test_full_text_ranks_more_matching_items_first(memory: Memory) -> None:
    """Any query word may match; an item holding more of them, more often, ranks higher."""
    memory.put(("d",), "both", {"text": "the quick brown fox jumps"})
    memory.put(("d",), "one", {"text": "a fox in the den"})
    memory.put(("d",), "none", {"text": "a lazy dog"})
    memory.put(("d",), "filler1", "nothing relevant here")
    memory.put(("d",), "filler2", "still nothing relevant")
    hits = memory.search(("d",), query="quick fox")
    assert [h.key for h in hits] == ["both", "one"]
    assert hits[0].score is not None and hits[1].score is not None and hits[0].score > hits[1].score > 0


def test_equal_scores_are_ordered_by_namespace_then_key(memory: Memory) -> None:
    """Identical texts tie; the tie is broken the same way on every call and backend."""
    for namespace, key in [(("b",), "2"), (("a",), "9"), (("b",), "1"), (("a",), "10")]:
        memory.put(namespace, key, "same words here")
    memory.put(("c",), "x", "other text")
    expected = [(("a",), "10"), (("a",), "9"), (("b",), "1"), (("b",), "2")]
    for _ in range(3):
        hits = memory.search((), query="words")
        assert keys(hits) == expected
        assert len({h.score for h in hits}) == 1


def test_query_words_are_plain_words_not_syntax(memory: Memory) -> None:
    """Quotes, operators and punctuation in a query are just separators; a query with no word finds nothing."""
    memory.put(("q",), "k", "AND OR NOT near quoted")
    assert len(memory.search(("q",), query='"quoted" AND (near*) -x:y')) == 1
    assert memory.search(("q",), query="  ?!  ") == []


def test_search_sees_only_string_values_not_keys_or_numbers(memory: Memory) -> None:
    """The searchable text is every string in the value; object keys and numbers are not words."""
    memory.put(("s",), "k", {"secretfield": 12345, "list": ["alpha", {"deep": "beta"}]})
    assert len(memory.search(("s",), query="beta")) == 1
    assert memory.search(("s",), query="secretfield") == []
    assert memory.search(("s",), query="12345") == []


FILTER_CASES: list[tuple[dict[str, Any], list[str]]] = [
    ({"kind": "note"}, ["n1", "n2"]),
    ({"kind": "note", "pinned": True}, ["n1"]),
    ({"pinned": True}, ["n1"]),
    ({"n": 1}, ["n1", "one_float"]),
    ({"n": 1.0}, ["n1", "one_float"]),
    ({"n": "1"}, ["one_text"]),
    ({"missing": None}, ["null"]),
    ({"absent": "x"}, []),
]


@pytest.mark.parametrize(("where", "expected"), FILTER_CASES, ids=[str(w) for w, _ in FILTER_CASES])
def test_filter_is_exact_on_top_level_fields(memory: Memory, where: dict[str, Any], expected: list[str]) -> None:
    """true is not 1, "1" is not 1, 1 is 1.0, null matches only null; non-objects never match."""
    memory.put(("f",), "n1", {"kind": "note", "pinned": True, "n": 1})
    memory.put(("f",), "n2", {"kind": "note", "pinned": 1, "n": 2})
    memory.put(("f",), "one_float", {"n": 1.0})
    memory.put(("f",), "one_text", {"n": "1", "pinned": "true"})
    memory.put(("f",), "null", {"missing": None})
    memory.put(("f",), "scalar", "note")
    assert [h.key for h in memory.search(("f",), filter=where)] == expected


def test_filter_and_query_combine(memory: Memory) -> None:
    memory.put(("f",), "a", {"kind": "todo", "text": "buy milk"})
    memory.put(("f",), "b", {"kind": "done", "text": "buy bread"})
    assert [h.key for h in memory.search(("f",), query="buy", filter={"kind": "done"})] == ["b"]


def test_results_are_plain_json_and_validate_back(memory: Memory) -> None:
    """Every result dumps to JSON data that validates back to an equal model (what a trace records)."""
    import json

    item = memory.put(("j",), "k", {"text": "hello world", "n": [1, 2.5]}, ttl=30)
    hits = memory.search(("j",), query="hello")
    for model in [item, *hits]:
        data = json.loads(json.dumps(model.model_dump(mode="json")))
        assert type(model).model_validate(data) == model
    assert isinstance(hits[0], SearchHit) and isinstance(item, MemoryItem)


def test_two_memories_on_one_store_see_each_others_writes(open_memory: Any) -> None:
    writer, reader = open_memory(), open_memory()
    writer.put(("shared",), "k", "from the writer")
    got = reader.get(("shared",), "k")
    assert got is not None and got.value == "from the writer"

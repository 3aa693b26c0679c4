from assets.register.models import User
from assets.work import registry


def test_items_for_asks_sources_in_order_and_drops_empty_items(monkeypatch):
    monkeypatch.setattr(registry, "_SOURCES", {})

    @registry.work_source("second", order=20)
    def second(user):
        return [registry.WorkItem("second", "B", 2, "/b/")]

    @registry.work_source("first", order=10)
    def first(user):
        return [registry.WorkItem("first", "A", 1, "/a/"), registry.WorkItem("first", "empty", 0, "/z/")]

    items = registry.items_for(User(username="x"))
    assert [(i.title, i.count) for i in items] == [("A", 1), ("B", 2)]
    assert registry.sources() == ["first", "second"]

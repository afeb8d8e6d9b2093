"""Group-name matching across notices and what people type."""

from service.forms.names import NameIndex, normalize_name


def test_same_group_in_both_notices_is_one_name():
    assert normalize_name("辽宁装备制造职业教育集团") == normalize_name("辽宁装备制造职教集团")


def test_brackets_spaces_and_alliance_suffix():
    assert normalize_name("中国（北方）现代林业职业教育集团") == normalize_name("中国(北方) 现代林业职教集团")
    assert normalize_name("示范性职业教育集团（联盟）") == normalize_name("示范性职业教育集团")
    assert normalize_name("ＡＢＣ职业教育集团") == normalize_name("ABC职业教育集团")


def test_exact_and_near_matches_against_first_batch(catalog):
    index = NameIndex(catalog.entities("first_batch_groups"))
    assert index.match("辽宁装备制造职教集团").exact["seq"] == 22
    near = index.match("辽宁装备制造职业教育团")  # one character missing
    assert near.exact is None and [r["seq"] for r in near.near] == [22]
    assert index.match("辽宁石油化工职业教育集团").exact is None
    assert not index.match("完全不同的名字集团").near

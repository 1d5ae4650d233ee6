"""The outbox's events go into a query's text as one dollar-quoted literal (db.WithCommit)."""

import pytest

from studio_platform.db import dollar_quoted


@pytest.mark.parametrize("text", ["", "plain", "it's", "back\\slash", "$$", "ends with $q", "has $q$ inside",
                                  "$q$", "$q"])
def test_the_literal_ends_exactly_where_the_text_does(text):
    literal = dollar_quoted(text)
    tag = literal[:literal.index("$", 1) + 1]
    assert literal == f"{tag}{text}{tag}"
    # PostgreSQL ends the literal at the first closing tag after the opening one: it must be the last one
    assert literal.find(tag, len(tag)) == len(tag) + len(text)


def test_a_text_without_the_tag_keeps_the_short_one():
    assert dollar_quoted('{"name": "Barre"}') == '$q${"name": "Barre"}$q$'

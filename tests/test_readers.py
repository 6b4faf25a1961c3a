"""Reading articles from files: every supported format, and every kind of bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from common.errors import IngestError
from index.articles import Article
from index.readers import read_path

LIMIT = 1_000_000
BODY = "The council met on Tuesday. It approved the budget after a long debate. Critics said it was too small."


def read(path: Path, max_bytes: int = LIMIT) -> list[Article | IngestError]:
    return list(read_path(path, max_bytes))


def only_article(path: Path) -> Article:
    (item,) = read(path)
    assert isinstance(item, Article), item
    return item


def only_error(path: Path, max_bytes: int = LIMIT) -> IngestError:
    (item,) = read(path, max_bytes)
    assert isinstance(item, IngestError), item
    return item


def test_plain_text_takes_its_title_from_a_short_first_line(tmp_path):
    path = tmp_path / "budget.txt"
    path.write_text(f"Council approves budget\n\n{BODY}\n")
    article = only_article(path)
    assert article.title == "Council approves budget"
    assert article.text == BODY
    assert article.key == path.resolve().as_uri()


def test_plain_text_without_a_title_line_is_named_after_the_file(tmp_path):
    path = tmp_path / "city-budget_vote.txt"
    path.write_text(BODY)
    article = only_article(path)
    assert (article.title, article.text) == ("city budget vote", BODY)


def test_markdown_heading_is_the_title(tmp_path):
    path = tmp_path / "a.md"
    path.write_text(f"# Council approves budget\n{BODY}")
    assert only_article(path).title == "Council approves budget"


def test_html_file_is_extracted_with_its_metadata(tmp_path):
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><title>Budget passes - Daily</title><meta property='og:site_name' content='The Daily'>"
        "<meta property='article:published_time' content='2024-10-22T08:00:00Z'></head><body><nav>Home | World</nav>"
        f"<article><h1>Budget passes</h1><p>{BODY}</p><p>{BODY}</p></article><footer>(c) Daily</footer></body></html>"
    )
    article = only_article(path)
    assert article.title == "Budget passes"
    assert article.source == "The Daily"
    assert article.published.startswith("2024-10-22")
    assert "Home | World" not in article.text and "The council met on Tuesday." in article.text


def test_json_object_keeps_unknown_fields_as_metadata(tmp_path):
    path = tmp_path / "a.json"
    record = {
        "title": "T",
        "text": BODY,
        "url": "https://news.example/a",
        "published": "2022/06/12",
        "source": "X",
        "authors": ["Ann"],
    }
    path.write_text(json.dumps(record))
    article = only_article(path)
    assert (article.title, article.url, article.published, article.source) == (
        "T",
        "https://news.example/a",
        "2022-06-12",
        "X",
    )
    assert article.extra == {"authors": ["Ann"]}


def test_an_empty_field_under_a_known_name_is_no_ignored_field(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"title": "", "headline": "", "text": BODY, "link": None, "tags": ["x"]}))
    article = only_article(path)
    assert article.title == "" and article.extra == {"tags": ["x"]}
    assert len(article.notes) == 1 and "not read: tags " in article.notes[0]


def test_jsonl_gives_one_article_per_line_and_names_the_bad_line(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"title": "A", "text": BODY}) + "\n\n{not json}\n" + json.dumps({"title": "B"}) + "\n")
    items = read(path)
    assert [type(i).__name__ for i in items] == ["Article", "IngestError", "IngestError"]
    assert items[1].item == f"{path}:3" and "invalid JSON" in items[1].reason
    assert items[2].item == f"{path}:4" and "no 'text'" in items[2].reason


def test_directory_is_read_recursively_and_skips_unsupported_files(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "one.txt").write_text(BODY)
    (tmp_path / "sub" / "two.md").write_text(BODY + " Two.")
    (tmp_path / "sub" / "photo.jpg").write_bytes(b"\xff\xd8")
    assert sorted(a.title for a in read(tmp_path)) == ["one", "two"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"  \n", "file is empty"),
        ("binary.txt", b"\x00\x01\x02abc", "binary file"),
        ("latin1.txt", "café".encode("latin-1"), "not UTF-8"),
        ("bad.json", b'{"title": "x", ', "invalid JSON"),
        ("list.json", b"[1]", "expected a JSON object"),
        ("nav.html", b"<html><body><nav><a href='/'>Home</a></nav></body></html>", "no article text"),
        ("doc.pdf", b"%PDF-1.4", "unsupported file type '.pdf'"),
    ],
)
def test_bad_files_get_one_clear_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    error = only_error(path)
    assert error.item.startswith(str(path)) and reason in error.reason


def test_huge_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    error = only_error(path, max_bytes=100)
    assert "too large" in error.reason and "MAX_FILE_BYTES" in error.reason


def test_missing_and_dangling_paths(tmp_path):
    (tmp_path / "link.txt").symlink_to(tmp_path / "gone.txt")
    assert "no such file" in only_error(tmp_path / "link.txt").reason
    assert "no such file" in only_error(tmp_path / "absent.txt").reason

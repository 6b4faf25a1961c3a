"""A small, fictional newsroom for briefings, feeds and time-aware answers: one story told by two outlets,
other stories from the same days, an older and a newer article on one subject, and a feed's pages."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from answers.core import AnswerService
from tests.helpers import index_items, test_settings, wire
from tests.http_server import article_html
from wiring.settings import Settings

BRIDGE_HERALD = {
    "title": "Ellery harbour bridge closed after cracks found in main span",
    "source": "Coast Herald",
    "url": "https://coastherald.example/news/ellery-bridge-closed",
    "published": "2024-11-12",
    "text": (
        "Engineers closed the Ellery harbour bridge on Tuesday after inspectors found deep cracks in its main "
        "steel span. The bridge carries about 40,000 vehicles a day between the port and the city centre. "
        "Mayor Lina Osei said the closure would last at least three weeks while the span is repaired. "
        "Ferries will run every fifteen minutes across the harbour until the bridge reopens, the transport "
        "authority said. Traders at the port warned that the detour of twelve kilometres would raise delivery "
        "costs. The cracks were discovered during a routine inspection that had been delayed by a year."
    ),
}
BRIDGE_TIMES = {
    "title": "Cracked span shuts Ellery bridge for weeks, ferries added",
    "source": "Northern Times",
    "url": "https://northerntimes.example/2024/11/12/ellery-bridge",
    "published": "2024-11-12",
    "text": (
        "The Ellery harbour bridge was shut on Tuesday when inspectors discovered cracks in the steel of its "
        "main span, city officials said. Around 40,000 cars and lorries cross the bridge every day. "
        "Mayor Lina Osei told reporters the repairs would keep the bridge closed for at least three weeks. "
        "The transport authority is adding ferries across the harbour, leaving every fifteen minutes. "
        "The inspection that found the cracks had been postponed for a year because of budget cuts, "
        "according to council documents seen by the Northern Times."
    ),
}
RATES_OCTOBER = {
    "title": "Bank of Valdora raises interest rates to 4.5 percent",
    "source": "Coast Herald",
    "url": "https://coastherald.example/business/valdora-rates-october",
    "published": "2024-10-03",
    "text": (
        "The Bank of Valdora raised its main interest rate by half a point to 4.5 percent on Thursday, its "
        "third increase this year. Governor Tomas Reyes said inflation of 6 percent was still far above the "
        "bank's target of 2 percent. Mortgage lenders said monthly repayments would rise for most homeowners. "
        "The currency strengthened against the dollar after the announcement."
    ),
}
RATES_NOVEMBER = {
    "title": "Bank of Valdora holds interest rates as inflation cools",
    "source": "Northern Times",
    "url": "https://northerntimes.example/2024/11/11/valdora-rates-hold",
    "published": "2024-11-11",
    "text": (
        "The Bank of Valdora kept its main interest rate at 4.5 percent on Monday after inflation fell to "
        "4 percent in October. Governor Tomas Reyes said the bank would wait for more data before deciding "
        "whether to cut rates early next year. Economists had expected the pause after two months of "
        "falling prices for fuel and food."
    ),
}
CUP_FINAL = {
    "title": "Ellery Rovers win the national cup final on penalties",
    "source": "Northern Times",
    "url": "https://northerntimes.example/2024/11/10/rovers-cup",
    "published": "2024-11-10",
    "text": (
        "Ellery Rovers won the national cup final on Sunday, beating Harlow City 5-4 on penalties after a "
        "2-2 draw. Goalkeeper Sam Adeyemi saved two penalties in the shoot-out. It is the club's first cup "
        "since 1987, and thousands of fans celebrated in the streets around the harbour until late at night."
    ),
}
VACCINE = {
    "title": "Valdora begins free flu vaccinations for over-65s",
    "source": "Coast Herald",
    "url": "https://coastherald.example/health/flu-vaccines",
    "published": "2024-11-08",
    "text": (
        "Pharmacies across Valdora began giving free flu vaccinations to everyone over 65 on Friday. "
        "The health ministry has ordered 900,000 doses, enough for every eligible resident. "
        "Health minister Ana Lindqvist urged older people to book an appointment before December, when "
        "flu cases usually peak."
    ),
}
CORPUS = [BRIDGE_HERALD, BRIDGE_TIMES, RATES_OCTOBER, RATES_NOVEMBER, CUP_FINAL, VACCINE]
FERRY_CREWS = {  # indexed later, in tests of "what is new"
    "title": "Ellery ferry operators hire extra crews",
    "source": "Coast Herald",
    "url": "https://coastherald.example/news/ferry-crews",
    "published": "2024-11-13",
    "text": (
        "Ferry operators in Ellery hired forty extra crew members on Wednesday to cope with the bridge closure. "
        "Queues at the harbour terminal reached an hour during the morning rush, passengers said."
    ),
}


def write_jsonl(records: list[dict], path: Path) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def build_index(directory: Path, records: list[dict] = CORPUS) -> Settings:
    """An index of `records` in `directory`/index, with the settings that point at it."""
    settings = test_settings(directory)
    report = index_items(settings, [write_jsonl(records, directory / "newsroom.jsonl")])
    assert report.added == len(records), report
    return settings


def service_for(settings: Settings, now: datetime) -> AnswerService:
    """The answering service `settings` describe (time zone included), its clock stopped at `now`."""
    return wire(settings, now).answers


def rss(title: str, items: list[dict]) -> str:
    """An RSS 2.0 document; each item has guid, link and title."""
    entries = "".join(
        f"<item><title>{item['title']}</title><link>{item['link']}</link><guid>{item['guid']}</guid>"
        "<pubDate>Wed, 13 Nov 2024 06:00:00 GMT</pubDate></item>"
        for item in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://gazette.example/</link><description>News</description>{entries}</channel></rss>"
    )


def gazette_story(page_server, slug: str, title: str, paragraphs: list[str]) -> dict:
    """An article page served by `page_server`, and its feed item."""
    link = page_server.add(
        f"/news/{slug}", article_html(title, paragraphs, site="Ellery Gazette", published="2024-11-13")
    )
    return {"guid": f"gazette-{slug}", "link": link, "title": title}


FERRIES = (
    "ferries",
    "Extra ferries cross Ellery harbour",
    [
        "The transport authority added six ferries across Ellery harbour on Wednesday while the bridge is closed.",
        "Commuters said the crossing took twenty minutes, about the same as the drive over the bridge.",
    ],
)
MARKET = (
    "market",
    "Ellery fish market moves to the north quay",
    [
        "The Ellery fish market moved to the north quay on Wednesday so that lorries can avoid the closed bridge.",
        "Traders said sales fell by a third in the first hours because buyers could not find the new stalls.",
    ],
)

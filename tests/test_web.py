"""The digest pages and /healthz: escaping of hostile paper text, archive by day, health states, error pages."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.web import create_app
from bot.web_views import ARCHIVE_DAYS
from core.models import Paper
from tests.fixtures.web.papers import DAY
from tests.fixtures.web.site import RSS_DAY, Site, site_settings

HOSTILE_TITLE = 'Segmentation <script>alert("t")</script> </details><img src=x onerror=alert(1)>'
HOSTILE_ABSTRACT = "Training </p><script>document.title='owned'</script> <a href=javascript:alert(2)>x</a> & more"
LATER_DAY = RSS_DAY + dt.timedelta(days=1)


class Probe:
    def __init__(self, alive: bool) -> None:
        self.alive = alive

    def scheduler_alive(self) -> bool:
        return self.alive


def client_for(site: Site, **kwargs) -> TestClient:
    return TestClient(create_app(site.store, site.settings, **kwargs), raise_server_exceptions=False)


def add_hostile_day(site: Site) -> Paper:
    paper = Paper(
        arxiv_id="2604.99999",
        version=2,
        title=HOSTILE_TITLE,
        authors=("Mallory <b>Bold</b>",),
        abstract=HOSTILE_ABSTRACT,
        categories=("cs.CV",),
        primary_category="cs.CV",
        announce_type="new",
        announced=LATER_DAY,
        published=LATER_DAY,
    )
    site.store.papers.store_announcement(LATER_DAY, [paper])
    return paper


def test_latest_page_shows_the_newest_day_and_the_archive(site: Site) -> None:
    with client_for(site) as client:
        page = client.get("/")
        archived = client.get(f"/day/{DAY.isoformat()}").text
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert f"Papers announced on {RSS_DAY.isoformat()}" in html
    assert [f'<a href="{scored.paper.abs_url}">' in html for scored in site.latest.papers] == [True] * len(site.latest.papers)
    assert f'<a href="/day/{DAY.isoformat()}">' in html
    assert f'<a href="/day/{RSS_DAY.isoformat()}">' in html
    assert "default-src 'none'" in page.headers["content-security-policy"]
    # Every shown paper of the top N has a summary, extractive where no LLM one is stored, and the count says so.
    top_n = site.settings.summaries.top_n
    latest_summaries = min(top_n, len(site.latest.papers))
    assert html.count("<details>") == latest_summaries
    assert html.count("Extractive summary") == latest_summaries
    assert f"<li>Summaries: {latest_summaries}</li>" in html
    positions = [archived.index(f'<a href="{scored.paper.abs_url}">') for scored in site.digest.papers]
    assert positions == sorted(positions)
    assert archived.count("<details>") == min(top_n, len(site.digest.papers))
    assert "<strong>Contribution</strong>" in archived
    assert archived.count("Extractive summary") == min(top_n, len(site.digest.papers)) - len(site.summaries)


def test_hostile_title_and_abstract_are_escaped(site: Site) -> None:
    add_hostile_day(site)
    with client_for(site) as client:
        latest = client.get("/").text
        archived = client.get(f"/day/{DAY.isoformat()}").text
    assert f"Papers announced on {LATER_DAY.isoformat()}" in latest
    assert "<script" not in latest
    assert "<img" not in latest
    assert "<a href=javascript" not in latest
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt;" in latest
    assert "&lt;/p&gt;&lt;script&gt;document.title=&#x27;owned&#x27;&lt;/script&gt;" in latest
    assert "Mallory &lt;b&gt;Bold&lt;/b&gt;" in latest
    # The earlier day is still reachable from the archive.
    assert f"Papers announced on {DAY.isoformat()}" in archived
    assert "2604.99999" not in archived


def test_a_stored_day_older_than_the_archive_list_is_still_served(site: Site) -> None:
    paper = add_hostile_day(site)
    for offset in range(1, ARCHIVE_DAYS + 1):  # enough newer days to push DAY out of the listed archive
        day = LATER_DAY + dt.timedelta(days=offset)
        site.store.papers.store_announcement(day, [dataclasses.replace(paper, arxiv_id=f"2605.{offset:05d}", announced=day)])
    with client_for(site) as client:
        latest = client.get("/").text
        old = client.get(f"/day/{DAY.isoformat()}")
    assert f'<a href="/day/{DAY.isoformat()}">' not in latest
    assert old.status_code == 200
    assert f"Papers announced on {DAY.isoformat()}" in old.text


def test_unknown_day_and_methods_are_refused_without_traceback(site: Site) -> None:
    with client_for(site) as client:
        assert client.get("/day/1999-01-01").status_code == 404
        assert client.get("/day/not-a-day").status_code == 404
        posted = client.post("/feeds/all.xml")
        assert posted.status_code == 405
        assert "Traceback" not in posted.text


def test_errors_show_no_traceback(site: Site) -> None:
    def explode(request):
        raise RuntimeError("secret internals")

    with client_for(site, extra_routes=[Route("/boom", explode)]) as client:
        answer = client.get("/boom")
    assert answer.status_code == 500
    assert "secret internals" not in answer.text
    assert "Traceback" not in answer.text
    assert "Something went wrong" in answer.text


def test_extra_routes_mount_on_the_same_app(site: Site) -> None:
    async def slack_events(request):
        return PlainTextResponse("slack ok")

    with client_for(site, extra_routes=[Route("/slack/events", slack_events, methods=["POST"])]) as client:
        assert client.post("/slack/events").text == "slack ok"
        assert client.get("/feeds/all.xml").status_code == 200


def test_health_is_ok_after_a_recent_fetch(site: Site) -> None:
    with client_for(site, health=Probe(alive=True)) as client:
        answer = client.get("/healthz")
    assert answer.status_code == 200
    report = answer.json()
    assert report["status"] == "ok"
    assert report["store"] == "ok"
    assert report["scheduler"] == "alive"
    assert report["last_fetch"]["age_seconds"] == 0


def test_health_reports_a_stale_fetch(site: Site) -> None:
    limit = site.settings.web.max_fetch_age_hours
    site.store.clock = lambda: dt.datetime(2026, 9, 24, 12, 0, tzinfo=dt.timezone.utc) + dt.timedelta(hours=limit + 1)
    with client_for(site, health=Probe(alive=True)) as client:
        answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["status"] == "failing: fetch, announcements"
    assert answer.json()["last_fetch"]["age_seconds"] == int((limit + 1) * 3600)


def _health_at(site: Site, moment: dt.datetime) -> dict:
    site.store.clock = lambda: moment
    with client_for(site, health=Probe(alive=True)) as client:
        answer = client.get("/healthz")
    assert answer.status_code == (200 if answer.json()["status"] == "ok" else 503)
    return answer.json()


def test_health_turns_unhealthy_when_the_next_announcement_day_is_overdue(site: Site) -> None:
    """RSS_DAY (Thursday) is stored; Friday's feed is out at 04:30 UTC and overdue 6 hours later."""
    friday = RSS_DAY + dt.timedelta(days=1)
    grace = dt.timedelta(hours=site.settings.web.announcement_overdue_hours)
    feed_out = dt.datetime(2026, 9, 25, 4, 30, tzinfo=dt.timezone.utc)
    waiting = _health_at(site, feed_out + grace - dt.timedelta(minutes=1))
    assert waiting["status"] == "ok"
    assert waiting["announcements"] == {
        "expected_day": friday.isoformat(), "latest_stored_day": RSS_DAY.isoformat(), "missing_categories": ["cs.CV", "cs.LG"],
    }
    overdue = _health_at(site, feed_out + grace)
    assert overdue["status"] == "failing: announcements"
    assert overdue["announcements"]["overdue_since"] == (feed_out + grace).isoformat()
    site.store.papers.record_fetch("feed", ["cs.CV", "cs.LG"], friday, "empty")  # arXiv announced nothing (an unlisted holiday)
    assert _health_at(site, feed_out + grace)["status"] == "ok"


def test_health_over_a_weekend_expects_nothing_after_friday(site: Site) -> None:
    friday = RSS_DAY + dt.timedelta(days=1)
    site.store.papers.record_fetch("feed", ["cs.CV", "cs.LG"], friday, "ok", 3)
    sunday_night = dt.datetime(2026, 9, 27, 23, 0, tzinfo=dt.timezone.utc)
    report = _health_at(site, sunday_night)
    assert report["status"] == "ok"
    assert report["announcements"]["expected_day"] == friday.isoformat()


def test_health_reports_a_stopped_scheduler(site: Site) -> None:
    with client_for(site, health=Probe(alive=False)) as client:
        answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["scheduler"] == "stopped"


def test_health_reports_an_unreadable_store(site: Site) -> None:
    app = create_app(site.store, site.settings)
    site.store.close()
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/healthz")
    assert answer.status_code == 503
    assert answer.json()["store"] == "unreachable"


def test_empty_store_page_says_so(store) -> None:
    with TestClient(create_app(store, site_settings())) as client:
        page = client.get("/")
        feed = client.get("/feeds/all.xml")
    assert "No announcements stored yet" in page.text
    assert feed.status_code == 200
    assert re.search(r"<item>", feed.text) is None


def test_page_says_how_many_matched_when_max_papers_cut_some(site: Site) -> None:
    """The service counts the matches before the cut; the page's sentence is the chats' (one view)."""
    matching, announced = site.digest.matched, site.digest.considered
    assert matching is not None
    assert len(site.digest.papers) < matching < 100  # the fixture's limit cuts some, 100 none

    def day_page(max_papers: int) -> str:
        defaults = site.settings.defaults.model_copy(update={"max_papers": max_papers})
        with TestClient(create_app(site.store, site.settings.model_copy(update={"defaults": defaults}))) as client:
            return client.get(f"/day/{DAY.isoformat()}").text

    assert f"<li>2 of {matching} matching papers picked from {announced} announced in cs.CV, cs.LG.</li>" in day_page(2)
    assert f"<li>{matching} papers picked from {announced} announced in cs.CV, cs.LG.</li>" in day_page(100)


def test_page_without_summaries_when_disabled(site: Site) -> None:
    settings = site.settings.model_copy(update={"summaries": site.settings.summaries.model_copy(update={"enabled": False})})
    with TestClient(create_app(site.store, settings)) as client:
        assert "<details>" not in client.get("/").text


def test_server_errors_carry_the_security_headers(site: Site) -> None:
    """A 500 page is served like any other: same headers, no traceback."""
    def explode(request):
        raise RuntimeError("secret internals")

    with client_for(site, extra_routes=[Route("/boom", explode)]) as client:
        failed = client.get("/boom")
        served = client.get("/")
    assert failed.status_code == 500
    assert "Traceback" not in failed.text
    assert "secret internals" not in failed.text
    for name in ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy"):
        assert failed.headers[name] == served.headers[name]


def test_a_trailing_newline_names_no_feed_or_day(site: Site) -> None:
    """The audit's `%0A`: `$` in the path patterns accepted a trailing newline."""
    with client_for(site) as client:
        assert client.get("/feeds/all.xml").status_code == 200
        assert client.get("/feeds/all.xml%0A").status_code == 404
        assert client.get(f"/day/{DAY.isoformat()}%0A").status_code == 404


def test_feed_links_follow_the_request_when_no_public_url_is_set(site: Site) -> None:
    settings = site.settings.model_copy(update={"web": site.settings.web.model_copy(update={"public_url": "", "port": 8123})})
    with TestClient(create_app(site.store, settings), base_url="http://127.0.0.1:9001") as client:
        here = client.get("/feeds/all.xml").text
        elsewhere = client.get("/feeds/all.xml", headers={"host": "digest.example.org"}).text
        forged = client.get("/feeds/all.xml", headers={"host": "evil.example/<x>"}).text
    assert "<link>http://127.0.0.1:9001/</link>" in here
    assert "localhost:8000" not in here
    assert "<link>http://digest.example.org/</link>" in elsewhere  # each address gets its own links, not a cached copy
    assert "<link>http://localhost:8123/</link>" in forged
    assert "evil" not in forged


def test_the_web_server_listens_on_loopback_unless_told_and_deployments_say_so() -> None:
    from core.config import WebSettings

    assert WebSettings().host == "127.0.0.1"
    assert WebSettings().public_url == ""
    root = Path(__file__).resolve().parents[1]
    assert "--host 0.0.0.0" in (root / "Procfile").read_text()
    assert "--host 0.0.0.0" in (root / "Dockerfile").read_text()

"""Two participant-only replicas on one PostgreSQL behind Debian's nginx (scripts/replicas.py): participants go
through the proxy, one replica is killed mid-survey, its participants resume on the other with their link, and
no vote is lost or doubled. Participants are light websocket clients (scripts/st_client.py), not browsers."""

from __future__ import annotations

import asyncio
import shutil
from http.cookiejar import CookieJar

import pytest

from scripts.replicas import NGINX, Replicas
from scripts.st_client import StreamlitClient, choose, trigger
from tests.survey_support import make_survey, real_clips

pytestmark = pytest.mark.skipif(not shutil.which("nginx") and not __import__("os").path.exists(NGINX),
                                reason="Debian's nginx is not installed (scripts/system-deps.sh installs it)")
PARTICIPANTS = 6


class Participant:
    """One participant's tab; after a lost connection it opens the same link again (same cookies), as the
    browser's own reconnection does."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.cookies = url, CookieJar()
        self.query = f"s={token}"
        self.replica, self.reconnects, self.acknowledged = "", 0, 0
        self.client: StreamlitClient | None = None
        self.page = None

    async def open(self) -> None:
        self.client = StreamlitClient(self.url, "survey", self.query, self.cookies)
        await self.client.connect()
        # $upstream_addr lists every replica tried ("dead:port, live:port" right after a kill): the last answered
        self.replica = self.client.headers.get("X-Tunelab-Replica", "").split(",")[-1].strip()
        self.page = await self.client.run()

    async def step(self) -> None:
        """Consent or answer the clip on screen; reconnect once when the replica is gone."""
        try:
            if self.page.button("I agree: start") is not None:
                self.page = await self.client.run([trigger(self.page.button("I agree: start"))])
                self.query = self.client.query  # now with &p=: the link that resumes this participant
            else:
                radio = self.page.of("radio")[0]
                self.page = await self.client.run([choose(radio, "A person"), trigger(self.page.button("Next"))])
                self.acknowledged += 1
        except (ConnectionError, OSError):
            self.reconnects += 1
            await self.client.close()
            await self.open()

    @property
    def done(self) -> bool:
        return "Thank you! Your answers are saved." in self.page.texts()


@pytest.fixture
def cluster(postgres_server, tmp_path):
    url = postgres_server.new_database()
    clips = [c for c in real_clips() if not c.is_catch]
    _, token = make_survey(url, clips=clips, min_listen_seconds=0.0)
    replicas = Replicas(2, url, tmp_path / "run", env={"TUNELAB_JOINS_PER_MINUTE": "1000"})
    try:
        replicas.start()
    except RuntimeError as exc:
        replicas.stop()
        pytest.skip(f"the replicas could not start here: {exc}")
    yield replicas, url, token
    replicas.stop()


def test_a_killed_replica_loses_no_vote(cluster):
    from survey_db import store

    replicas, db, token = cluster

    async def scenario() -> list[Participant]:
        people = [Participant(replicas.url, token) for _ in range(PARTICIPANTS)]
        await asyncio.gather(*(p.open() for p in people))
        for _ in range(3):  # consent, then two clips each
            await asyncio.gather(*(p.step() for p in people))
        on = {p.replica for p in people}
        assert len(on) == 2, f"the proxy spread {PARTICIPANTS} participants over {on} only"
        victim = replicas.ports.index(int(people[0].replica.rsplit(":", 1)[1]))
        replicas.kill(victim)
        for _ in range(20):
            if all(p.done for p in people):
                break
            await asyncio.gather(*(p.step() for p in people if not p.done))
        for p in people:
            await p.client.close()
        return people, victim

    people, victim = asyncio.run(scenario())
    assert all(p.done for p in people)
    moved = [p for p in people if p.reconnects]
    assert moved and all(p.replica == f"127.0.0.1:{replicas.ports[1 - victim]}" for p in moved)
    survey = next(s for s in store.list_surveys(db) if s.token == token)
    frame = store.responses_frame(survey.id, db)
    per_person = frame.groupby("participant")["clip"].agg(["count", "nunique"])
    assert len(per_person) == PARTICIPANTS and survey.finished == PARTICIPANTS
    assert (per_person["count"] == 8).all() and (per_person["nunique"] == 8).all()  # none lost, none doubled
    assert sum(p.acknowledged for p in people) >= len(frame)  # every stored vote was sent by a participant

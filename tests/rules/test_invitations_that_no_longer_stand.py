"""A queued invitation that no longer stands never goes (SPEC §3, Consent: one invitation per circle, naming
its verified inviter): the invitee joined or declined, or the inviter left or was erased."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from service.domain.models import Membership, OutboundSms
from tests.builders import add_circle, code_texted_to

DAN = "+14155550177"


def invitations_sent(fake_twilio) -> list[str]:
    return [body for body in fake_twilio.bodies_to(DAN) if "JOIN" in body]


def alice_invites_dan(client, people) -> int:
    """Alice's new circle, where she just invited Dan (his one invitation is queued); its id."""
    people.create("Alice")
    circle = add_circle(client, people)
    invite = {"name": "Dan", "phone": DAN}
    response = client.post(f"/api/v1/circles/{circle}/members", json=invite, headers=people.headers("Alice"))
    assert response.status_code == 201
    return circle


def sign_in_dan(client, db) -> dict[str, str]:
    client.post("/api/v1/codes", json={"phone": DAN})
    answer = client.post(
        "/api/v1/sessions", json={"phone": DAN, "code": code_texted_to(db, DAN), "name": "Dan", "timezone": "UTC"}
    )
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def join_by_text(client, db, people, texts, circle):
    assert "Us" in texts.send(DAN, "JOIN")


def accept_on_the_api(client, db, people, texts, circle):
    assert client.post(f"/api/v1/invitations/{circle}/accept", headers=sign_in_dan(client, db)).status_code == 200


def decline_on_the_api(client, db, people, texts, circle):
    assert client.post(f"/api/v1/invitations/{circle}/decline", headers=sign_in_dan(client, db)).status_code == 204


def inviter_erased(client, db, people, texts, circle):
    assert client.delete("/api/v1/me", headers=people.headers("Alice")).status_code == 204


def inviter_leaves(client, db, people, texts, circle):
    response = client.delete(f"/api/v1/circles/{circle}/members/me", headers=people.headers("Alice"))
    assert response.status_code == 204


@pytest.mark.parametrize("then", [join_by_text, accept_on_the_api, decline_on_the_api, inviter_erased, inviter_leaves])
def test_a_queued_invitation_is_cancelled_once_it_no_longer_stands(client, db, people, texts, sms, fake_twilio, then):
    circle = alice_invites_dan(client, people)
    then(client, db, people, texts, circle)
    sms.tick()
    assert invitations_sent(fake_twilio) == []
    with db.session() as s:
        assert s.scalars(select(OutboundSms.state).where(OutboundSms.kind == "invitation")).all() == ["cancelled"]


def test_sending_refuses_an_invitation_whose_membership_is_gone(client, db, people, sms, fake_twilio):
    """Defence in depth: whatever removed the membership, the sender checks it before the text goes."""
    circle = alice_invites_dan(client, people)
    with db.session() as s:
        s.execute(delete(Membership).where(Membership.circle_id == circle, Membership.person_id != people.ids["Alice"]))
    sms.tick()
    assert invitations_sent(fake_twilio) == []


def test_an_invitation_that_stands_goes(client, db, people, sms, fake_twilio):
    alice_invites_dan(client, people)
    sms.tick()
    assert len(invitations_sent(fake_twilio)) == 1

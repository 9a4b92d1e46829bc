"""Liveness, readiness and metrics."""

from datetime import timedelta

from sqlalchemy import update

from service.domain.models import OutboundSms


def test_healthz_answers_while_the_process_is_up(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(client, doorbell):
    assert client.get("/readyz").status_code == 200
    doorbell.broken = True
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failures"] == ["broker"]  # by name only; the error goes to the log


def test_readyz_reports_an_unreachable_database(client, runtime):
    from service.domain.db import Database

    runtime.db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = client.get("/readyz")
    assert response.status_code == 503 and "database" in response.get_json()["failures"]


def test_metrics_show_the_outbox_as_the_database_sees_it(client, people, db, clock):
    people.create("Alice")  # queues the sign-in code SMS
    with db.session() as s:
        s.execute(update(OutboundSms).values(due_at=clock() - timedelta(seconds=90)))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'tend_outbound_sms{state="queued"} 1.0' in text and 'tend_outbound_sms{state="sending"} 0.0' in text
    assert "tend_held_delivery_reports 0.0" in text
    assert "tend_outbound_sms_oldest_due_seconds 90.0" in text
    assert "process_cpu_seconds_total" in text or "python_info" in text

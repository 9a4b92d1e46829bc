"""Settings: name, zone, quiet hours, weekly summary, pausing, one's data, deleting the account, signing out."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, redirect, url_for

from service.core.schedule import occurrence_local
from service.domain import accounts, digests, editing, privacy
from service.domain.errors import DomainError
from service.web.context import commit, now, runtime
from service.web.context import session as db
from service.web.pages import auth
from service.web.pages.blueprint import bp, page, show_error
from service.web.pages.forms import DeleteAccountForm, PauseAllForm, SettingsForm


def _settings_page(
    form: SettingsForm | None = None,
    delete: DeleteAccountForm | None = None,
    status: int = 200,
    pause: PauseAllForm | None = None,
) -> Any:
    person, at = auth.me(), now()
    if form is None:
        form = SettingsForm(formdata=None)
        form.name.data, form.timezone.data = person.name, person.timezone
        form.quiet.data = person.quiet_start is not None and person.quiet_end is not None
        form.quiet_start.data, form.quiet_end.data = person.quiet_start, person.quiet_end
        form.digest_weekday.data, form.digest_time.data = str(person.digest_weekday), person.digest_time
    paused = accounts.reminders_paused_until(person, at)
    return page(
        "settings.html",
        status,
        form=form,
        pause=pause or PauseAllForm(formdata=None),
        delete=delete or DeleteAccountForm(formdata=None),
        person=person,
        paused_until=occurrence_local(paused, person.timezone) if paused else None,
    )


@bp.get("/settings")
@auth.signin_required
def settings() -> Any:
    return _settings_page()


@bp.post("/settings")
@auth.signin_required
def save_settings() -> Any:
    form = SettingsForm()
    if not form.validate_on_submit():
        return _settings_page(form, status=422)
    quiet = (form.quiet_start.data, form.quiet_end.data) if form.quiet.data else None
    try:
        editing.change_settings(
            db(),
            auth.me(),
            editing.Settings(
                form.name.data, form.timezone.data, quiet, int(form.digest_weekday.data), form.digest_time.data
            ),
            now(),
        )
    except DomainError as error:
        db().rollback()
        show_error(form, error)
        return _settings_page(form, status=422)
    commit()
    flash("Settings saved.", "done")
    return redirect(url_for("pages.settings"))


@bp.post("/settings/pause")
@auth.signin_required
def pause_all() -> Any:
    form = PauseAllForm()
    if not form.validate_on_submit():
        return _settings_page(pause=form, status=422)
    try:
        editing.pause_person(auth.me(), form.days.data, now())
    except DomainError as error:  # the range is the domain's (the same for PAUSE by text)
        show_error(form, error)
        return _settings_page(pause=form, status=422)
    commit()
    flash(f"Reminders paused for {form.days.data} days.", "done")
    return redirect(url_for("pages.settings"))


@bp.post("/settings/resume")
@auth.signin_required
def resume_all() -> Any:
    editing.resume_person(auth.me(), now())
    commit()
    flash("Reminders are back on.", "done")
    return redirect(url_for("pages.settings"))


@bp.post("/settings/digest-sample")
@auth.signin_required
def digest_sample() -> Any:
    """Text me a sample of the weekly summary now (the last 7 days)."""
    config = runtime().config
    digests.send_sample(db(), auth.me(), config.public_url, now(), secret=config.secret_key)
    commit()
    flash("A sample of your weekly summary is on its way by text.", "done")
    return redirect(url_for("pages.settings"))


@bp.get("/settings/export")
@auth.signin_required
def export() -> Any:
    """Download everything Tend keeps about you: the same document as GET /api/v1/export."""
    body = json.dumps(privacy.export(db(), auth.me(), now()), indent=2, ensure_ascii=False)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="tend-my-data.json"'},
    )


@bp.post("/signout/everywhere")
@auth.signin_required
def signout_everywhere() -> Any:
    device = auth.current_device()
    assert device is not None, "signed in"
    accounts.sign_out(db(), device, everywhere=True)
    commit()
    auth.end()
    return redirect(url_for("pages.home"))


@bp.post("/settings/delete")
@auth.signin_required
def delete_account() -> Any:
    form = DeleteAccountForm()
    if not form.validate_on_submit():
        return _settings_page(delete=form, status=422)
    accounts.erase(db(), auth.me())
    commit()
    auth.end()
    flash("Your account and all your data are deleted.", "done")
    return redirect(url_for("pages.home"))

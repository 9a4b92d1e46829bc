"""A couple's first evening with Tend, in a phone-sized headless Chromium, with JavaScript and without.

Alice signs up (the code read from the fake Twilio), makes a circle, invites
Bob (who joins by a signed JOIN webhook), adds "Evening walk, weekdays 19:00"
with the picker and sees its next 5 times (its start date shown as the pages
write dates and typed as one would text it: "12/04/2026" is asked about,
"tomorrow" and "1 dec" are read, live or by Preview), sees it on /today,
presses Done, sees the streak become 1 on /streaks, makes a calendar link and fetches the
feed behind it, revokes it (ticking its confirmation), changes her quiet hours,
and signs out. On every page: a screenshot at 390x844, axe-core finds nothing
serious or critical (with JavaScript), and the browser asked nothing of any
other origin; the header keeps one height and its nav one line, at 390 and
360 px (issue 22).
"""

from __future__ import annotations

import re
import urllib.request
from datetime import UTC, datetime

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import Select, WebDriverWait
from twilio.request_validator import RequestValidator

from service.web.pages.forms import PHONE_EXAMPLE

ALICE, BOB = "+14155550101", "+14155550102"
EVENING = datetime(2026, 12, 2, 0, 5, tzinfo=UTC)  # Tuesday 1 December, 19:05 in New York


def field(driver, name: str):
    return driver.find_element(By.NAME, name)


def retype(driver, name: str, value: str) -> None:
    element = field(driver, name)
    element.clear()
    element.send_keys(value)


def press(element, key: str = Keys.ENTER) -> None:
    """Activate a link or button from the keyboard, as a person may. (ChromeDriver's click waits on page
    scripts, and hangs with JavaScript off; Enter on a focused link or button does what a tap does.)"""
    element.send_keys(key)


def submit(driver, value: str, within=None) -> None:
    """Press the button labelled `value` and wait for the next page."""
    buttons = (within or driver).find_elements(By.CSS_SELECTOR, 'input[type="submit"], button[type="submit"]')
    match = [b for b in buttons if (b.text or b.get_attribute("value")).strip() == value]
    assert match, f"no button {value!r} on {driver.current_url}"
    page = driver.find_element(By.TAG_NAME, "html")
    press(match[0])
    WebDriverWait(driver, 15).until(lambda _: gone(page))


def follow(driver, link_text: str) -> None:
    page = driver.find_element(By.TAG_NAME, "html")
    press(driver.find_element(By.LINK_TEXT, link_text))
    WebDriverWait(driver, 15).until(lambda _: gone(page))


def gone(element) -> bool:
    try:
        element.is_enabled()
    except WebDriverException:  # stale, or "does not belong to the document": the next page is in
        return True
    return False


class Journey:
    def __init__(self, browser, live, sms, fake_twilio, clock) -> None:
        self.browser, self.driver, self.live = browser, browser.driver, live
        self.sms, self.fake_twilio, self.clock = sms, fake_twilio, clock
        self.pages: list[str] = []

    def at(self, path: str) -> None:
        self.driver.get(self.live.url + path)

    def check(self, name: str) -> None:
        """What every page owes: a screenshot, no foreign request, and (with JS) no serious axe violation."""
        self.pages.append(self.driver.current_url)
        self.browser.screenshot(name)
        assert self.browser.foreign_requests(self.live.url) == [], name
        if self.browser.javascript:
            assert self.browser.axe_violations() == [], name

    def preview(self, shown) -> str:
        """The schedule's preview once `shown(text)`: live as the form changes (with JavaScript), or by Preview."""
        if self.browser.javascript:
            press(field(self.driver, "title"), Keys.TAB)  # leave the field just typed in: a change event
        else:
            submit(self.driver, "Preview")
        read = lambda _: self.driver.find_element(By.ID, "schedule-preview").text  # noqa: E731
        WebDriverWait(self.driver, 10).until(lambda d: shown(read(d)))
        return read(self.driver)

    def text(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "main").text

    def header_height(self) -> int:
        """The header's height; its nav must stay on one line (issue 22: the header jumped between pages)."""
        header = self.driver.find_element(By.CSS_SELECTOR, "header.top")
        links = header.find_elements(By.CSS_SELECTOR, "nav a")
        assert len({link.rect["y"] for link in links}) <= 1, "the nav wraps"
        overflow = "const n = document.querySelector('header.top nav'); return n ? n.scrollWidth - n.clientWidth : 0"
        assert self.driver.execute_script(overflow) <= 0, "the nav is cut off"
        return header.rect["height"]

    def join_by_sms(self, phone: str) -> None:
        """Bob answers the invitation: a JOIN webhook signed as Twilio would sign it."""
        params = {"MessageSid": "SM" + "b" * 32, "From": phone, "To": "+15005550006", "Body": "JOIN"}
        url = self.live.url + "/webhooks/twilio/sms"
        signature = RequestValidator(self.live.app.extensions["tend"].config.twilio_auth_token).compute_signature(
            url, params
        )
        answer = self.live.app.test_client().post(
            "/webhooks/twilio/sms", data=params, headers={"X-Twilio-Signature": signature}
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)


def test_a_couple_sets_up_and_keeps_a_ritual(browser, live, sms, fake_twilio, clock):
    j = Journey(browser, live, sms, fake_twilio, clock)
    driver = j.driver

    j.at("/")
    assert "Keep the small things" in j.text()
    way_in = driver.find_element(By.LINK_TEXT, "Sign up or sign in")
    assert "primary" in way_in.get_attribute("class").split()
    j.check("01-home")
    follow(driver, "Sign up or sign in")

    assert PHONE_EXAMPLE in j.text()
    field(driver, "phone").send_keys(ALICE)
    j.check("02-signin")
    submit(driver, "Text me a code")
    sms.drain()
    code = re.search(r"\b(\d{6})\b", fake_twilio.bodies_to(ALICE)[-1])[1]
    field(driver, "code").send_keys(code)
    if browser.javascript:
        assert field(driver, "timezone").get_attribute("value") == "America/New_York"  # the browser's, by the script
    else:  # no script: the zone is chosen from a list, and all that is missing is said at once, in people's words
        submit(driver, "Sign in")
        assert "Tell us your name." in j.text() and "Choose your time zone." in j.text()
        Select(field(driver, "timezone")).select_by_value("America/New_York")
    field(driver, "name").send_keys("Alice")
    j.check("03-code")
    submit(driver, "Sign in")

    assert urlpath(driver) == "/circles/new"
    j.check("04-circle-new")
    field(driver, "name").send_keys("Alice & Bob")
    submit(driver, "Create circle")
    circle_url = urlpath(driver)
    assert re.fullmatch(r"/circles/\d+", circle_url)

    field(driver, "name").send_keys("Bob")
    field(driver, "phone").send_keys(BOB)
    submit(driver, "Invite")
    sms.tick()
    assert fake_twilio.bodies_to(BOB), j.text()
    j.join_by_sms(BOB)
    driver.refresh()
    assert "Bob joined" in j.text().replace("\n", " ")
    j.check("05-circle")

    follow(driver, "Add a ritual")
    field(driver, "title").send_keys("Evening walk")
    press(driver.find_element(By.CSS_SELECTOR, 'input[name="repeat"][value="weekdays"]'), Keys.SPACE)
    retype(driver, "time", "7:00 PM")  # a 12-hour time, read whole (a 5-character field once cut it to 07:00)
    if browser.javascript:  # the preview follows the picker as it changes
        press(field(driver, "title"), Keys.TAB)  # leave the time field: a change event
        WebDriverWait(driver, 10).until(
            seen.presence_of_element_located((By.CSS_SELECTOR, "#schedule-preview ol.times li"))
        )
    else:
        submit(driver, "Preview")
    times = [li.text for li in driver.find_elements(By.CSS_SELECTOR, "#schedule-preview ol.times li")]
    assert times[0].startswith("Tue 1 Dec 2026, 19:00") and len(times) == 5, times
    assert all("Sat" not in t and "Sun" not in t for t in times), times
    # shown back as the pages write times (with JavaScript, once the live preview's answer is read)
    WebDriverWait(driver, 10).until(lambda d: field(d, "time").get_attribute("value") == "19:00")
    start = field(driver, "start_date")  # a date as the pages write it, typed as one would text it
    assert start.get_attribute("value") == "Tue 1 Dec 2026" and start.get_attribute("type") == "text"
    retype(driver, "start_date", "12/04/2026")
    assert "can't read that date" in j.preview(lambda shown: "can't read" in shown)
    retype(driver, "start_date", "tomorrow")
    assert j.preview(lambda shown: "Wed 2 Dec 2026, 19:00" in shown)
    retype(driver, "start_date", "1 dec")
    assert j.preview(lambda shown: "Tue 1 Dec 2026, 19:00" in shown).index("Tue 1 Dec 2026, 19:00") < 40
    assert field(driver, "start_date").get_attribute("value") == "Tue 1 Dec 2026"  # shown as it was read
    assert field(driver, "title").get_attribute("value") == "Evening walk"  # input kept across the preview
    j.check("06-ritual-new")
    submit(driver, "Save ritual")
    assert "Saved “Evening walk”" in j.text()
    j.check("07-ritual")

    j.at("/today")  # 07:00: the walk's window opens with its reminder
    assert "You can check in from 18:45, when its reminder goes out." in j.text()
    j.check("08-today-morning")
    heights = {j.header_height()}

    clock.set(EVENING)
    j.at("/today")
    assert "Evening walk" in j.text()
    j.check("08-today")
    walk = driver.find_element(By.CSS_SELECTOR, "li.entry[id^=ritual-]")
    done, skip = (walk.find_element(By.CSS_SELECTOR, f'button[value="{v}"]') for v in ("done", "skip"))
    assert done.rect["y"] == skip.rect["y"] < walk.find_element(By.NAME, "note").rect["y"]  # side by side, note below
    submit(driver, "Done", within=walk)
    assert "Done: Evening walk." in j.text()
    assert "done ✓" in driver.find_element(By.CSS_SELECTOR, "li.entry[id^=ritual-]").text

    j.at("/streaks")
    card = driver.find_element(By.CSS_SELECTOR, "section.card")
    assert "Evening walk" in card.text
    assert card.find_element(By.XPATH, ".//dt[.='Streak']/following-sibling::dd").text == "1"
    assert card.find_element(By.CSS_SELECTOR, "svg.heatmap").get_attribute("aria-label").startswith("Evening walk")
    j.check("09-streaks")
    heights.add(j.header_height())

    j.at("/calendar")
    submit(driver, "Make a calendar link")
    https_link = driver.find_element(By.ID, "https-link").get_attribute("value")
    webcal = driver.find_element(By.LINK_TEXT, "Subscribe on this device").get_attribute("href")
    assert https_link.startswith(live.url + "/feeds/") and webcal == https_link.replace("http://", "webcal://", 1)
    assert driver.find_element(By.CSS_SELECTOR, ".qr svg").get_attribute("aria-label")
    figure, qr = driver.find_element(By.CSS_SELECTOR, "figure.qr"), driver.find_element(By.CSS_SELECTOR, ".qr svg")
    caption = driver.find_element(By.CSS_SELECTOR, ".qr figcaption")
    middle = lambda rect: rect["x"] + rect["width"] / 2  # noqa: E731
    assert abs(middle(qr.rect) - middle(figure.rect)) < 2, (qr.rect, figure.rect)  # centred
    assert caption.rect["y"] - (qr.rect["y"] + qr.rect["height"]) < 24  # no blank under it
    link_field = driver.find_element(By.ID, "https-link")
    assert link_field.rect["height"] > 40 and link_field.rect["width"] <= 390  # the whole link, wrapped
    copy = driver.find_element(By.CSS_SELECTOR, "button.js-copy")
    assert copy.is_displayed() == browser.javascript  # no script: the field is selected and copied by hand
    j.check("10-calendar")
    with urllib.request.urlopen(https_link, timeout=30) as feed:
        assert feed.headers["Content-Type"].startswith("text/calendar")
        assert "SUMMARY:Evening walk" in feed.read().decode()
    j.at("/calendar")
    links = driver.find_element(By.ID, "links")
    assert re.search(r"Made Tue 1 Dec 2026, 19:05", links.text), links.text  # local date and time
    press(links.find_element(By.CSS_SELECTOR, 'input[name="confirm"]'), Keys.SPACE)
    submit(driver, "Revoke", within=links)
    assert "Link revoked" in j.text()
    j.check("10-calendar-revoked")
    heights.add(j.header_height())

    j.at("/settings")
    retype(driver, "quiet_start", "11pm")
    for left, right in (("digest_weekday", "digest_time"), ("quiet_start", "quiet_end")):  # side by side, in line
        assert field(driver, left).rect["y"] == field(driver, right).rect["y"], (left, right)
    j.check("11-settings")
    submit(driver, "Save settings")
    assert "Settings saved." in j.text()
    assert field(driver, "quiet_start").get_attribute("value") == "23:00"

    j.at("/invitations")
    j.check("12-invitations")
    heights.add(j.header_height())
    assert len(heights) == 1, heights  # the header keeps its height from page to page
    for path, name in (("/today", "13-today-360"), ("/calendar", "14-calendar-360"), ("/settings", "15-settings-360")):
        j.at(path)
        driver.execute_cdp_cmd(  # after each page load: ChromeDriver's mobile emulation sets 390 px again
            "Emulation.setDeviceMetricsOverride", {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True}
        )
        assert driver.execute_script("return document.documentElement.clientWidth") == 360
        assert j.header_height() in heights, path  # one line at 360 px too
        browser.screenshot(name)
    j.at("/settings")
    submit(driver, "Sign out")
    assert urlpath(driver) == "/"
    j.at("/today")
    assert urlpath(driver) == "/signin"  # the cookie's session is gone


def urlpath(driver) -> str:
    from urllib.parse import urlsplit

    return urlsplit(driver.current_url).path

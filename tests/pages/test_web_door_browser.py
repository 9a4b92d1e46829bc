"""What a real browser does with the web door's answers (issue 18, 22), in headless Chromium with and without
JavaScript: a tab in `next=` does not take it off Tend (browsers drop tabs in URLs), and a path that does not
exist shows Tend's own page."""

from __future__ import annotations

from urllib.parse import urlsplit

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.builders import code_texted_to

ALICE = "+14155550101"


def type_and_send(driver, fields: dict[str, str]) -> None:
    """Fill the fields and press Enter in the last one: the browser submits the form itself."""
    before = driver.current_url
    for name, value in fields.items():
        element = driver.find_element(By.NAME, name)
        if element.tag_name == "select":
            Select(element).select_by_value(value)
            continue
        element.clear()
        element.send_keys(value)
    element.send_keys(Keys.ENTER)
    WebDriverWait(driver, 20).until(lambda d: d.current_url != before)


def test_a_tab_in_next_leaves_the_browser_on_tend_and_unknown_paths_show_tends_page(browser, live, runtime):
    driver = browser.driver
    driver.get(live.url + "/signin?next=/%09/evil.example/phish")
    type_and_send(driver, {"phone": ALICE})
    type_and_send(driver, {"code": code_texted_to(runtime.db, ALICE), "timezone": "America/New_York", "name": "Alice"})
    landed = urlsplit(driver.current_url)
    assert (landed.netloc, landed.path) == (urlsplit(live.url).netloc, "/circles/new")
    for path in ("/no-such-page", "/d/bogus"):
        driver.get(live.url + path)
        assert driver.find_element(By.TAG_NAME, "h1").text == "Sorry", driver.page_source[:300]
        assert "There is nothing here." in driver.find_element(By.TAG_NAME, "main").text
        browser.screenshot("20-not-found" if path == "/no-such-page" else "21-digest-not-found")
        assert browser.foreign_requests(live.url) == []

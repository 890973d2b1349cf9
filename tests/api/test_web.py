"""The web page in headless Chromium against a real API and worker: upload, record, browse."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from playwright.sync_api import expect, sync_playwright

from tests.support.files import ROOT, write_speech

pytestmark = pytest.mark.browser
CHROMIUM = Path("/usr/bin/chromium")
STABLE_SCREENSHOT = ROOT / "var" / "screenshots" / "web.png"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def fake_microphone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What Chromium's fake capture device 'hears' when the page records."""
    return write_speech(tmp_path_factory.mktemp("microphone") / "microphone.wav", seed=21, seconds=4.0)


@pytest.fixture(scope="module")
def browser(fake_microphone: Path):
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (scripts/setup.sh installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={fake_microphone}",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, stack, catalogue):
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.grant_permissions(["microphone"], origin=stack.base_url)
    page = context.new_page()
    # JavaScript errors fail the test; a test that provokes an HTTP error removes the one it expects.
    page.js_errors = errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    # Signed in the way `s2m demo` links to the page: the key in the fragment.
    page.goto(f"{stack.base_url}/#key={stack.api_key}")
    page.wait_for_selector("body[data-ready=true]")
    yield page
    context.close()
    assert errors == [], errors


# The page's CSP forbids eval, so the test waits with locators only (never wait_for_function).
def wait_for_results(page) -> None:
    page.locator("#results .result-row").first.wait_for(timeout=120_000)


def attribute_of_all(locator, name: str) -> list[str]:
    return [locator.nth(i).get_attribute(name) for i in range(locator.count())]


def test_uploaded_speech_gets_ranked_tracks_players_and_a_plot(page, stack, tmp_path):
    speech = write_speech(tmp_path / "upload.wav", seed=5)

    page.set_input_files("#file", str(speech))
    wait_for_results(page)

    rows = page.locator("#results .result-row")
    ready = stack.http.get(f"{stack.base_url}/v1/tracks", params={"status": "ready", "limit": 500}).json()["items"]
    expected = min(10, len(ready))  # the page asks for 10 by default
    assert expected >= 6 and rows.count() == expected
    assert page.locator("#status").inner_text().startswith(f"Done: {expected} tracks")
    assert "Your speech sounds" in page.locator("#query-summary").inner_text()
    assert page.locator("#plot .query-point").count() == 1
    assert page.locator("#plot .result-point").count() == expected
    assert page.locator("#plot .anchor").count() == 12
    # Every player points at the stored audio, which the API serves with the key only; playing fetches it.
    assert "#key=" not in page.url  # taken out of the address bar at once
    audio_url = rows.first.locator("audio").get_attribute("data-audio-url")
    assert audio_url.startswith("/v1/tracks/") and audio_url.endswith("/audio")
    assert page.request.get(f"{stack.base_url}{audio_url}").status == 401
    rows.first.locator("button.play").click()
    expect(rows.first.locator("audio")).to_have_attribute("src", re.compile(r"^blob:"))

    page.screenshot(path=str(tmp_path / "web.png"), full_page=True)
    STABLE_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / "web.png", STABLE_SCREENSHOT)
    print(f"screenshot: {STABLE_SCREENSHOT}")


def test_mood_filter_and_limit_reach_the_request(page, catalogue, tmp_path):
    wanted = catalogue[0]["emotion"]
    page.check(f"#query-emotions input[value={wanted}]")
    page.fill("#limit", "2")
    page.set_input_files("#file", str(write_speech(tmp_path / "filtered.wav", seed=6)))
    wait_for_results(page)
    emotions = attribute_of_all(page.locator("#results .result-row"), "data-emotion")
    assert 1 <= len(emotions) <= 2 and set(emotions) == {wanted}


def test_recording_from_the_microphone_is_converted_to_wav_and_answered(page):
    page.click("#record")
    page.wait_for_selector("#record.recording")
    page.wait_for_timeout(2500)
    page.click("#record")
    wait_for_results(page)
    assert page.locator("#query-audio").get_attribute("src").startswith("blob:")
    assert page.locator("#plot .result-point").count() == page.locator("#results .result-row").count()


def test_bad_upload_shows_the_api_error(page, tmp_path):
    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros(16000 * 2, dtype=np.float32), 16000)
    page.set_input_files("#file", str(silent))
    page.wait_for_selector("#status.error")
    assert "silent" in page.locator("#status").inner_text().lower()
    assert page.locator("#results .result-row").count() == 0
    page.js_errors.remove("Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)")


def test_without_a_key_the_page_asks_for_one(browser, stack, catalogue):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{stack.base_url}/")
        page.wait_for_selector("body[data-ready=true]")
        expect(page.locator("#sign-in")).to_be_visible()
        assert "API key" in page.locator("#status").inner_text()
        page.fill("#api-key", stack.api_key)
        page.click("#sign-in button[type=submit]")
        page.wait_for_selector("#query-emotions input")
        expect(page.locator("#sign-in")).to_be_hidden()
        page.click("#sign-out")
        expect(page.locator("#sign-in")).to_be_visible()
    finally:
        context.close()


def test_catalogue_view_filters_by_emotion(page, catalogue):
    page.click("button.tab[data-view=catalogue-view]")
    rows = page.locator("#catalogue .track-row")
    rows.first.wait_for()
    assert rows.count() >= len(catalogue)

    wanted = catalogue[0]["emotion"]
    page.click(f".chip[data-emotion={wanted}]")
    page.wait_for_selector(f".chip.active[data-emotion={wanted}]")
    expect(page.locator(f"#catalogue .track-row:not([data-emotion={wanted}])")).to_have_count(0)
    rows.first.wait_for()
    assert set(attribute_of_all(rows, "data-emotion")) == {wanted}
    assert rows.count() >= sum(1 for track in catalogue if track["emotion"] == wanted)

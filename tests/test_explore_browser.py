"""`gandyn explore` driven in a real headless browser: Chromium from the system's
packages through Selenium and the system's chromedriver (nothing is downloaded).

WGAN Dirac-GAN, h = 0.1: simultaneous GD spirals out (|1 + ih| = 1.005 per step),
extragradient spirals in (|1 + ih − h²| = 0.995 per step)."""

import shutil
import threading

import numpy as np
import pytest

from gandyn._explore import make_server
from gandyn.methods import FAMILIES


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
webdriver = pytest.importorskip(
    "selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip("no Chromium with chromedriver on PATH (Debian: apt-get install chromium "
                "chromium-driver; .ci/run installs them)", allow_module_level=True)

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def server():
    server = make_server(0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,1000", "--force-device-scale-factor=1"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def settled(driver, timeout=120):
    """Wait until no request of the page is in flight, and no error is shown."""
    WebDriverWait(driver, timeout).until(
        lambda d: "busy-" not in (d.find_element(By.TAG_NAME, "body").get_attribute("class")
                                  or ""))
    error = driver.find_element(By.ID, "error")
    assert not error.is_displayed(), error.text


def statuses(driver):
    """The table's outcomes, read in one script (the page may redraw the rows between a
    find and a read)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#trajectories tbody tr'),"
        " row => row.getAttribute('data-status'))")


def test_click_a_trajectory_then_change_the_method(server, browser, tmp_path):
    browser.get(server.url)
    WebDriverWait(browser, 60).until(
        lambda d: len(Select(d.find_element(By.ID, "method")).options) > 0)
    Select(browser.find_element(By.ID, "loss")).select_by_value("wgan")
    Select(browser.find_element(By.ID, "method")).select_by_value("simgd")
    settled(browser)
    assert statuses(browser) == []

    # Click the plane up and to the right of the equilibrium (the canvas's centre is
    # near (0, 0) in θ, ψ).
    canvas = browser.find_element(By.ID, "portrait")
    ActionChains(browser).move_to_element_with_offset(canvas, 100, -80).click().perform()
    WebDriverWait(browser, 120).until(lambda d: statuses(d))
    settled(browser)
    assert statuses(browser) == ["diverging"]
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.get_attribute("data-verdict") == "diverges"
    assert "1.00499" in browser.find_element(By.CSS_SELECTOR, "#trajectories tbody").text

    Select(browser.find_element(By.ID, "method")).select_by_value("extragradient")
    settled(browser)
    assert statuses(browser) in (["converging"], ["converged"])
    assert verdict.get_attribute("data-verdict") == "converges"
    assert "0.995038" in browser.find_element(By.CSS_SELECTOR, "#trajectories tbody").text

    # The state is in the URL: opening the link shows the same view.
    link = browser.current_url
    assert "method=extragradient" in link and "loss=wgan" in link and "point=" in link
    assert browser.find_element(By.ID, "share").get_attribute("href") == link
    browser.get(link)
    WebDriverWait(browser, 120).until(lambda d: statuses(d))
    settled(browser)
    assert statuses(browser) in (["converging"], ["converged"])
    method = Select(browser.find_element(By.ID, "method")).first_selected_option
    assert method.text == "extragradient"
    csv = browser.find_element(By.ID, "export-csv").get_attribute("href")
    assert "/api/trajectory.csv?" in csv and "point=" in csv

    path = tmp_path / "explore.png"
    assert browser.save_screenshot(str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000


# ---------------------------------------------------------------------------------------
# One test per defect of issue 28, each opening a view by its link (the whole state is
# in the URL) and asserting the fixed behaviour.

def open_view(browser, server, query, timeout=120):
    browser.get(f"{server.url}?{query}")
    WebDriverWait(browser, 60).until(
        lambda d: len(Select(d.find_element(By.ID, "method")).options) > 0)
    settled(browser, timeout)


def test_non_gan_game_hides_the_loss(server, browser):
    open_view(browser, server, "game=bilinear&method=simgd&step=0.1&steps=50")
    assert not browser.find_element(By.ID, "loss-row").is_displayed()
    assert not browser.find_element(By.ID, "reg-set").is_displayed()
    # Matching pennies plays probabilities: drawn on [0, 1]², not [−2, 3]².
    Select(browser.find_element(By.ID, "game")).select_by_value("matching-pennies")
    settled(browser)
    assert float(browser.find_element(By.ID, "lim").get_attribute("value")) == 0.5


def test_a_diverged_row_keeps_the_table_inside_the_sidebar(server, browser):
    open_view(browser, server, "game=dirac&loss=wgan&method=simgd&step=1&steps=300&point=1,1"
                               "&point=-0.7,0.4")
    assert "diverged at step" in browser.find_element(By.ID, "trajectories").text
    controls = browser.find_element(By.ID, "controls").rect
    for button in browser.find_elements(By.CSS_SELECTOR, "#trajectories td button"):
        assert button.rect["x"] + button.rect["width"] <= controls["x"] + controls["width"] + 0.5
    width = browser.execute_script("return document.getElementById('trajectories').scrollWidth")
    assert width <= controls["width"]


def test_verdict_is_the_linearisation_beside_the_trajectories(server, browser):
    """WGAN + RK4 at h = 0.1: growth 1 − 7·10⁻⁹ per step (it read "1"), the trajectory
    cycles; both are shown, the verdict labelled as the linearisation, with a half-life."""
    open_view(browser, server, "game=dirac&loss=wgan&method=rk4&step=0.1&steps=300&point=1,1")
    verdict = browser.find_element(By.ID, "verdict").text
    assert "linearisation at the equilibrium" in verdict
    assert "1 − 6.9" in verdict or "1 − 7" in verdict, verdict
    assert "half-life" in verdict
    assert "1 cycling" in browser.find_element(By.ID, "nonlinear").text


def test_a_growth_of_one_to_rounding_has_no_half_life(server, browser):
    """WGAN + alternating GD at h = 0.5: the step map's multipliers lie on the unit
    circle (|μ| = 1 + 2·10⁻¹⁶ after rounding); no half-life or doubling time of 10¹⁵ steps."""
    open_view(browser, server, "game=dirac&loss=wgan&method=altgd&step=0.5&steps=50")
    verdict = browser.find_element(By.ID, "verdict").text
    assert "growth per step 1 (to rounding)" in verdict, verdict
    assert "half-life" not in verdict and "doubling" not in verdict, verdict


def test_stale_results_are_greyed_and_the_latest_request_wins(server, browser):
    open_view(browser, server, "game=dirac&loss=wgan&method=simgd&step=0.1&steps=200&point=1,1")
    browser.execute_script("""
        // Every answer arrives 300 ms late (as on a loaded server), so a drag always
        // has a request in flight when the next one starts.
        window.__aborted = 0;
        const original = window.fetch;
        window.fetch = (url, options) => new Promise((resolve, reject) => {
          const signal = options && options.signal;
          if (signal) signal.addEventListener('abort', () => {
            window.__aborted++;
            reject(new DOMException('aborted', 'AbortError'));
          });
          original(url, options).then((r) => setTimeout(() => resolve(r), 300), reject);
        });
        window.__sawStale = false;
        window.__sawBusy = false;
        new MutationObserver(() => {
          if (document.body.className.includes('stale-spectrum')) window.__sawStale = true;
          if (!document.getElementById('busy').hidden) window.__sawBusy = true;
        }).observe(document.body, {attributes: true, subtree: true,
                                   attributeFilter: ['class', 'hidden']});""")
    slider = browser.find_element(By.ID, "step-slider")
    for k in range(8):  # a drag: one input event every 80 ms
        browser.execute_script("arguments[0].value = arguments[1];"
                               "arguments[0].dispatchEvent(new Event('input'));"
                               "return new Promise((r) => setTimeout(r, 80));",
                               slider, -2 + 0.1 * k)
    settled(browser)
    # While an answer was awaited the old spectrum was marked stale, under the note.
    assert browser.execute_script("return window.__sawStale && window.__sawBusy")
    assert browser.execute_script("return window.__aborted") >= 12  # 7 stale × (spectrum, trajectories)
    body = browser.find_element(By.TAG_NAME, "body").get_attribute("class")
    assert "stale-" not in body and not browser.find_element(By.ID, "busy").is_displayed()
    step = float(browser.find_element(By.ID, "step").get_attribute("value"))
    assert step == pytest.approx(10 ** -1.3, rel=2e-3)
    assert f"h = {step:g}:" in browser.find_element(By.ID, "verdict").text


def test_a_bad_link_keeps_its_error_and_marks_the_verdict_stale(server, browser):
    browser.get(f"{server.url}?game=dirac&loss=wgan&method=simgd&step=-1")
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "error").is_displayed())
    WebDriverWait(browser, 60).until(
        lambda d: "busy-" not in (d.find_element(By.TAG_NAME, "body").get_attribute("class") or ""))
    import time

    time.sleep(1.0)
    assert browser.find_element(By.ID, "error").is_displayed()
    assert "step" in browser.find_element(By.ID, "error").text
    assert browser.find_element(By.ID, "verdict").get_attribute("data-stale") == "true"


def test_log_step_slider_with_typed_entry_and_spectrum_zoom(server, browser):
    open_view(browser, server, "game=dirac&loss=wgan&method=simgd&step=0.001&steps=100")
    slider = browser.find_element(By.ID, "step-slider")
    assert slider.rect["width"] >= 200  # four decades and more over it
    # At h = 0.001 the spectrum hλ = ±0.001i: the view zooms to it (the region is ±3.5).
    extent = float(browser.find_element(By.ID, "spectrum").get_attribute("data-extent"))
    assert extent < 0.01
    box = browser.find_element(By.ID, "step")
    box.clear()
    box.send_keys("0.0123\n")
    settled(browser)
    assert "step=0.0123" in browser.current_url
    assert float(slider.get_attribute("value")) == pytest.approx(np.log10(0.0123), abs=0.002)


def test_trajectories_have_their_own_colours_and_a_hover_readout(server, browser):
    open_view(browser, server, "game=dirac&loss=wgan&method=extragradient&step=0.2&steps=200"
                               "&point=1,1&point=-1,0.5&point=0.5,-1")
    chips = [c.value_of_css_property("background-color")
             for c in browser.find_elements(By.CSS_SELECTOR, "#trajectories .chip")]
    assert len(chips) == 3 and len(set(chips)) == 3
    legend = [s.get_attribute("data-status") for s in browser.find_elements(By.CSS_SELECTOR, "#legend span")]
    assert set(legend) == set(statuses(browser))  # only the outcomes that occur
    canvas = browser.find_element(By.ID, "portrait")
    ActionChains(browser).move_to_element_with_offset(canvas, 40, -40).perform()
    readout = browser.find_element(By.ID, "readout").text
    assert "θ = " in readout and "‖v‖ ≈" in readout


def test_methods_grouped_and_exports_named_by_settings(server, browser):
    open_view(browser, server, "game=dirac&loss=wgan&reg=r1=0.3&method=rk4&step=0.1&steps=100&point=1,1")
    groups = [g.get_attribute("label") for g in browser.find_elements(By.CSS_SELECTOR, "#method optgroup")]
    assert groups == list(FAMILIES)  # the registry's families, in its order
    name = browser.find_element(By.ID, "export-csv").get_attribute("download")
    assert name == "gandyn-dirac-wgan-r1=0.3-rk4-h0.1-100steps.csv"


@pytest.mark.parametrize("size", [(390, 844), (1024, 768)])
def test_layout_fits_narrow_screens_and_shows_the_verdict_above_the_fold(server, browser, size):
    browser.set_window_size(*size)
    try:
        open_view(browser, server, "game=dirac&loss=wgan&method=simgd&step=0.1&steps=100&point=1,1")
        inner = browser.execute_script("return [window.innerWidth, document.documentElement.scrollWidth]")
        assert inner[1] <= inner[0], inner  # no sideways scroll
        if size[0] >= 1024:
            verdict = browser.find_element(By.ID, "verdict").rect
            assert verdict["y"] + 40 < browser.execute_script("return window.innerHeight")
        else:  # a click on the shrunk canvas still lands where it points
            canvas = browser.find_element(By.ID, "portrait")
            assert canvas.rect["width"] < 390
            ActionChains(browser).move_to_element_with_offset(canvas, 0, 0).click().perform()
            WebDriverWait(browser, 120).until(lambda d: len(statuses(d)) == 2)
            settled(browser)
    finally:
        browser.set_window_size(1400, 1000)


def test_dirac_data_space_plays_back_trajectory_one(server, browser):
    """The 1-D Dirac-GAN's data space (real point, generator point, critic line ψx) at a
    saved step of trajectory 1, stepped one save at a time and played."""
    open_view(browser, server, "game=dirac&loss=wgan&method=simgd&step=0.1&steps=200&point=1,0.5")
    assert browser.find_element(By.ID, "data-figure").is_displayed()
    space = browser.find_element(By.ID, "data-space")
    answer = browser.execute_script(
        "return fetch('/api/trajectory' + window.location.search).then((r) => r.json());")
    thetas, psis = answer["trajectories"][0]["path"]
    assert float(space.get_attribute("data-theta")) == pytest.approx(thetas[0])
    for _ in range(3):
        browser.find_element(By.ID, "step-forward").click()
    assert space.get_attribute("data-index") == "3"
    assert float(space.get_attribute("data-theta")) == pytest.approx(thetas[3])
    assert float(space.get_attribute("data-psi")) == pytest.approx(psis[3])
    browser.find_element(By.ID, "play").click()
    WebDriverWait(browser, 10).until(lambda d: int(space.get_attribute("data-index")) > 20)
    browser.find_element(By.ID, "play").click()  # pause
    index = space.get_attribute("data-index")
    import time

    time.sleep(0.3)
    assert space.get_attribute("data-index") == index
    open_view(browser, server, "game=bilinear&method=simgd&step=0.1&steps=50&point=1,1")
    assert not browser.find_element(By.ID, "data-figure").is_displayed()


def page_state(driver):
    """What the page shows of the plane and of trajectory 1's frame, read in one script."""
    return driver.execute_script("""
        const $ = (id) => document.getElementById(id);
        const space = $('data-space').dataset;
        return {plane: $('plane').value, x: $('plane-x').value, y: $('plane-y').value,
                planeShown: !$('plane-set').hidden, labels: $('portrait').dataset.labels || '',
                help: $('plane-help').textContent, url: decodeURIComponent(location.search),
                caption: $('portrait-caption').textContent, error: $('error').hidden ? ''
                : $('error').textContent, theta: Number(space.theta), psi: Number(space.psi),
                index: Number(space.index), phase: Number(space.phase), mover: space.mover,
                label: $('time-label').textContent, playerStep: !$('player-step').hidden,
                table: $('trajectories').querySelector('tbody').textContent,
                verdict: $('verdict').textContent,
                csv: $('export-csv').getAttribute('download')};""")


def choose(driver, element_id, value):
    Select(driver.find_element(By.ID, element_id)).select_by_value(value)
    settled(driver)


def test_a_game_of_more_parameters_is_drawn_in_a_chosen_plane(server, browser):
    """The 2-D Dirac-GAN: the rotation plane by default, the players' plane, or two
    coordinates by name, as `portrait --plane`; axes named by their components; a bad
    pair is the command line's message."""
    open_view(browser, server, "game=dirac&dim=2&loss=wgan&method=simgd&step=0.1&steps=50")
    s = page_state(browser)
    assert s["planeShown"] and s["plane"] == "" and "rotation plane of λ = 0 ± 1i" in s["help"]
    assert s["labels"].startswith("e₁ = ") and "θ" in s["labels"] and "ψ" in s["labels"]
    choose(browser, "plane", "players")
    s = page_state(browser)
    assert "plane=players" in s["url"] and "plane players" in s["caption"]
    assert s["labels"] == "v_G = 0.71·θ1 + 0.71·θ2 | v_D = −0.71·ψ1 − 0.71·ψ2"
    choose(browser, "plane", "coordinates")
    s = page_state(browser)
    assert (s["x"], s["y"]) == ("θ1", "ψ1") and "plane=θ1,ψ1" in s["url"]
    assert s["csv"] == "gandyn-dirac-dim=2-wgan-simgd-h0.1-50steps-plane=theta1+psi1.csv"
    assert s["labels"] == "θ1 | ψ1" and "θ1 against ψ1" in s["help"]
    choose(browser, "plane-y", "θ2")
    assert page_state(browser)["labels"] == "θ1 | θ2"
    # A start clicked in that plane (ψ = 0) runs from there.
    canvas = browser.find_element(By.ID, "portrait")
    ActionChains(browser).move_to_element_with_offset(canvas, 60, -60).click().perform()
    WebDriverWait(browser, 120).until(lambda d: len(statuses(d)) == 1)
    settled(browser)
    assert "plane=θ1,θ2" in page_state(browser)["url"] and "point=" in page_state(browser)["url"]
    Select(browser.find_element(By.ID, "plane-y")).select_by_value("θ1")
    WebDriverWait(browser, 60).until(lambda d: page_state(d)["error"])
    assert page_state(browser)["error"].startswith(
        "malformed --plane 'θ1,θ1': expected eigen, players, or two different parameters of "
        "θ1, θ2, ψ1, ψ2")
    open_view(browser, server, "game=dirac&loss=wgan&method=simgd&step=0.1&steps=50")
    assert not page_state(browser)["planeShown"]  # two parameters: nothing to choose


def test_a_methods_settings_are_fields_carried_in_the_link(server, browser):
    """altgd's declared options appear when it is chosen; 5 discriminator steps per
    generator step change the run, the link, the caption and the export's name; a
    bad value is the command line's message; another method shows its own fields."""
    open_view(browser, server, "game=dirac&loss=nsgan&method=altgd&step=0.1&steps=100"
                               "&point=1,0.5")
    field = browser.find_element(By.ID, "method-option-discriminator-steps")
    assert field.get_attribute("value") == "1"
    assert browser.find_element(By.ID, "method-option-generator-first").is_selected()
    before = page_state(browser)
    field.clear()
    field.send_keys("5\n")
    settled(browser)
    after = page_state(browser)
    assert "discriminator-steps=5" in after["url"]
    assert "altgd (discriminator-steps=5)" in after["caption"]
    assert "altgd-discriminator-steps=5" in after["csv"]
    assert after["table"] != before["table"]  # another rate per step
    assert after["verdict"] != before["verdict"]  # another step map at the equilibrium
    field = browser.find_element(By.ID, "method-option-discriminator-steps")
    field.clear()
    field.send_keys("0\n")
    WebDriverWait(browser, 60).until(lambda d: page_state(d)["error"])
    assert page_state(browser)["error"] == "discriminator_steps must be an integer from 1 to 100, got 0"
    choose(browser, "method", "sga")
    fields = [e.get_attribute("id") for e in browser.find_elements(By.CSS_SELECTOR, "#method-options input")]
    assert fields == ["method-option-lam", "method-option-align", "method-option-epsilon"]
    assert "discriminator-steps" not in page_state(browser)["url"]


def test_one_players_move_at_a_time_for_an_alternating_method(server, browser):
    """Alternating GD on the WGAN Dirac-GAN: "one player ▶" shows the generator's move
    alone, `(θ₁, ψ₀)` with `θ₁ = θ₀ + hψ₀`, then the discriminator's, `(θ₁, ψ₁)`; with
    the discriminator first, `(θ₀, ψ₁)`. A simultaneous method has no such button."""
    open_view(browser, server, "game=dirac&loss=wgan&method=altgd&step=0.2&steps=100&point=1,0.5")
    s = page_state(browser)
    assert s["playerStep"] and (s["index"], s["phase"]) == (0, 0)
    button = browser.find_element(By.ID, "player-step")
    button.click()
    s = page_state(browser)
    assert (s["index"], s["phase"], s["mover"]) == (0, 1, "generator")
    assert s["theta"] == pytest.approx(1 + 0.2 * 0.5) and s["psi"] == pytest.approx(0.5)
    assert "the generator's step (the discriminator's step next)" in s["label"]
    button.click()
    s = page_state(browser)
    assert (s["index"], s["phase"]) == (1, 0)
    assert s["theta"] == pytest.approx(1.1) and s["psi"] == pytest.approx(0.5 - 0.2 * 1.1)
    open_view(browser, server, "game=dirac&loss=wgan&method=altgd&generator-first=false"
                               "&discriminator-steps=2&step=0.2&steps=100&point=1,0.5")
    browser.find_element(By.ID, "player-step").click()
    s = page_state(browser)
    assert s["mover"] == "discriminator" and s["theta"] == pytest.approx(1)
    assert s["psi"] == pytest.approx(0.5 - 2 * 0.2 * 1)  # two steps ψ ← ψ − hθ, θ = 1 held
    assert "the discriminator's 2 steps (the generator's step next)" in s["label"]
    open_view(browser, server, "game=dirac&loss=wgan&method=simgd&step=0.2&steps=100&point=1,0.5")
    assert not page_state(browser)["playerStep"]


# ---------------------------------------------------------------------------------------
# Issue 38's defects of the explorer, each seen in the browser.

RECORD_TEXT = """
    // Every text a canvas draws, where (in CSS pixels of the page) and how tall.
    window.__texts = [];
    const fillText = CanvasRenderingContext2D.prototype.fillText;
    CanvasRenderingContext2D.prototype.fillText = function (text, x, y, maxWidth) {
      const m = this.getTransform();
      const size = Number((/([0-9.]+)px/.exec(this.font) || [0, 0])[1]);
      const c = this.canvas;
      const shown = c.isConnected ? c.getBoundingClientRect().width / c.width : 1;
      const measured = this.measureText(String(text)).width;
      const width = maxWidth === undefined ? measured : Math.min(measured, maxWidth);
      const left = this.textAlign === 'center' ? x - width / 2
        : ['right', 'end'].includes(this.textAlign) ? x - width : x;
      window.__texts.push({canvas: c.id, text: String(text), x: m.a * left + m.e,
                           right: m.a * (left + width) + m.e, y: m.d * y + m.f,
                           px: size * Math.hypot(m.a, m.b) * shown,
                           canvasWidth: c.width, canvasHeight: c.height,
                           rotated: m.b !== 0});
      return fillText.call(this, text, x, y, maxWidth);
    };"""


def drawn_texts(driver):
    """The canvases' texts after a redraw of the page (its resize handler redraws)."""
    driver.execute_script(RECORD_TEXT + "window.dispatchEvent(new Event('resize'));")
    return driver.execute_script("return window.__texts")


def test_png_export_keeps_every_line_inside_the_picture(server, browser):
    """The verdict was one line of ~1,500 px on a 960 px picture: cut at the edge."""
    open_view(browser, server, "game=dirac&loss=wgan&method=rk4&step=0.1&steps=300"
                               "&point=1,1&point=-1,0.5")
    browser.execute_script(RECORD_TEXT + """
        window.__texts = [];
        HTMLCanvasElement.prototype.toBlob = function () {
          window.__exported = [this.width, this.height]; };""")
    browser.find_element(By.ID, "export-png").click()
    width, height = browser.execute_script("return window.__exported")
    texts = [t for t in browser.execute_script("return window.__texts") if not t["canvas"]]
    assert texts and all(t["x"] >= 0 and t["right"] <= width and 0 < t["y"] <= height
                         for t in texts), [t for t in texts if t["right"] > width]
    words = " ".join(t["text"] for t in texts).split()
    verdict = browser.find_element(By.ID, "verdict").text.split()
    assert all(w in words for w in verdict)
    assert sum(t["text"].startswith(("1: start", "2: start")) for t in texts) == 2


def test_a_typed_invalid_step_shows_its_error_and_no_result_under_its_h(server, browser):
    """h = −1 typed over h = 0.1's results: the error, and the greyed results labelled
    with h = 0.1 (not "h = -1: converges …")."""
    open_view(browser, server, "game=dirac&loss=wgan&method=extragradient&step=0.1&steps=100"
                               "&point=1,1")
    box = browser.find_element(By.ID, "step")
    box.clear()
    box.send_keys("-1\n")
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "error").is_displayed())
    WebDriverWait(browser, 60).until(lambda d: "busy-" not in (
        d.find_element(By.TAG_NAME, "body").get_attribute("class") or ""))
    assert "step" in browser.find_element(By.ID, "error").text
    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.get_attribute("data-stale") == "true"
    assert "h = -1: converges" not in verdict.text and "h = -1:" in verdict.text
    assert "not computed for h = -1" in verdict.text
    assert "linearisation at the equilibrium, h = 0.1: converges" in verdict.text
    assert "h = 0.1" in browser.find_element(By.ID, "portrait-caption").text


def words_broken_across_lines(driver):
    """The words of the table's cells that are drawn on more than one line."""
    return driver.execute_script("""
        const broken = [];
        for (const td of document.querySelectorAll('#trajectories td')) {
          const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const text = node.textContent;
            for (const m of text.matchAll(/\\S+/g)) {
              const range = document.createRange();
              range.setStart(node, m.index);
              range.setEnd(node, m.index + m[0].length);
              const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
              if (tops.size > 1) broken.push(m[0]);
            }
          }
          if (td.scrollWidth > td.clientWidth + 1) broken.push('overflow: ' + td.textContent);
        }
        return broken;""")


def test_table_cells_wrap_between_words(server, browser):
    open_view(browser, server, "game=dirac&loss=wgan&method=extragradient&step=0.2&steps=300"
                               "&point=-0.712,0.433&point=1.5,-1.25")
    assert "converging" in statuses(browser) or "converged" in statuses(browser)
    assert words_broken_across_lines(browser) == []
    open_view(browser, server, "game=dirac&loss=wgan&method=simgd&step=1&steps=300"
                               "&point=-1.2345,1.75&point=-0.7,0.4")
    assert "diverged at step" in browser.find_element(By.ID, "trajectories").text
    assert words_broken_across_lines(browser) == []


def test_hover_readout_follows_a_method_change(server, browser):
    """The pointer rests on trajectory 1's start: its readout names the outcome of the
    method shown, also after the method changes under a still pointer."""
    open_view(browser, server, "game=dirac&loss=wgan&method=simgd&step=0.1&steps=200&point=1,1")
    canvas = browser.find_element(By.ID, "portrait")
    # Where the readout names trajectory 1's start: looked for with synthetic moves
    # (any layout), then the real pointer is put there.
    dx, dy = browser.execute_script("""
        const c = document.getElementById('portrait');
        const r = c.getBoundingClientRect();
        for (let y = r.top; y < r.bottom; y += 2) {
          for (let x = r.left; x < r.right; x += 2) {
            c.dispatchEvent(new MouseEvent('mousemove', {clientX: x, clientY: y}));
            if (document.getElementById('readout').textContent.includes(
                'trajectory 1 at step 0 ')) {
              return [Math.round(x - r.left - r.width / 2),
                      Math.round(y - r.top - r.height / 2)];
            }
          }
        }
        return [null, null];""")
    assert dx is not None
    ActionChains(browser).move_to_element_with_offset(canvas, dx, dy).perform()
    assert "trajectory 1 at step 0 (diverging)" in browser.find_element(By.ID, "readout").text
    # The method changed without moving the pointer (chosen by keyboard, say).
    browser.execute_script("""
        const m = document.getElementById('method');
        m.value = 'extragradient'; m.dispatchEvent(new Event('change'));""")
    settled(browser)
    readout = browser.find_element(By.ID, "readout").text
    assert "trajectory 1 at step 0 (converg" in readout, readout
    # Away from the plane: the hint, not the last position's numbers.
    ActionChains(browser).move_to_element(browser.find_element(By.ID, "verdict")).perform()
    assert browser.find_element(By.ID, "readout").text.startswith("hover the plane")


def test_canvas_text_keeps_its_size_on_a_phone(server, browser):
    """At 390 px the 560 px portrait was shrunk with its 11 px labels to ~7 px."""
    browser.set_window_size(390, 844)
    try:
        open_view(browser, server, "game=dirac&loss=wgan&method=simgd&step=0.1&steps=100"
                                   "&point=1,1")
        texts = [t for t in drawn_texts(browser) if t["canvas"]]
        assert {t["canvas"] for t in texts} >= {"portrait", "spectrum", "series-distance",
                                                 "data-space"}
        small = [(t["canvas"], t["text"], round(t["px"], 1)) for t in texts if t["px"] < 9]
        assert small == []
        width = browser.execute_script("return [window.innerWidth, "
                                       "document.documentElement.scrollWidth]")
        assert width[1] <= width[0]
    finally:
        browser.set_window_size(1400, 1000)


def test_speed_colour_bar_has_ticks(server, browser):
    """Tick values 0 … max ‖v‖ on the bar, placed linearly (0 at its bottom)."""
    open_view(browser, server, "game=dirac&loss=wgan&method=simgd&step=0.1&steps=100")
    field = browser.execute_script(
        "return fetch('/api/field' + window.location.search).then((r) => r.json());")
    hi = max(s for s in field["speed"] if s is not None)
    texts = drawn_texts(browser)
    # The bar's labels: numbers in one column (one x) in the canvas's right half (the
    # x axis's labels each have their own x).
    right = [t for t in texts if t["canvas"] == "portrait" and not t["rotated"]
             and t["x"] > t["canvasWidth"] / 2 and t["text"].replace(".", "").isdigit()]
    column = max({round(t["x"]) for t in right}, key=lambda x: sum(round(t["x"]) == x
                                                                    for t in right))
    bar = [t for t in right if round(t["x"]) == column]
    values = [float(t["text"]) for t in bar]
    assert len(values) >= 3 and values[0] == 0 and 0.5 * hi <= values[-1] <= hi
    # Linear: y = y₀ − a·value.
    ys = np.array([t["y"] for t in bar])
    slope, intercept = np.polyfit(values, ys, 1)
    assert slope < 0 and np.allclose(ys, slope * np.array(values) + intercept, atol=0.6)


def test_gaussian_data_space_shows_both_densities_over_time(server, browser):
    """The Gaussian GAN's data space: the data's N(c, s²) and trajectory 1's generator
    N(μ, σ²) and critic at the saved step shown, stepped like the Dirac-GAN's."""
    open_view(browser, server, "game=gaussian&real-point=0.5&std=0.8&loss=wgan&method=simgd"
                               "&step=0.05&steps=200&point=0.5,0.5")
    assert browser.find_element(By.ID, "data-figure").is_displayed()
    answer = browser.execute_script(
        "return fetch('/api/trajectory' + window.location.search).then((r) => r.json());")
    first = answer["first"]
    assert first["names"] == ["μ", "σ", "w1", "w2"] and first["generator"] == 2
    space = browser.find_element(By.ID, "data-space")
    for _ in range(3):
        browser.find_element(By.ID, "step-forward").click()
    assert space.get_attribute("data-index") == "3"
    mu, sigma = (float(space.get_attribute(f"data-{n}")) for n in ("mu", "sigma"))
    assert (mu, sigma) == pytest.approx((first["values"][0][3], first["values"][1][3]))
    assert sigma != pytest.approx(first["values"][1][0])  # the generator moved
    texts = [t["text"] for t in drawn_texts(browser) if t["canvas"] == "data-space"]
    assert "data N(c, s²): c = 0.5, s = 0.8" in texts
    assert any(t.startswith("generator N(μ, σ²): μ = ") and f"σ = {sigma:.3g}" in t
               for t in texts), texts
    assert "N(μ, σ²)" in browser.find_element(By.ID, "data-caption").text

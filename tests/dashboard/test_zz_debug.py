from test_pages_browser import Session, browser  # noqa: F401
from axe_playwright_python.base import AXE_SCRIPT

def test_debug(browser, live_service):
    s = Session(browser, live_service.url)
    s.page.goto(live_service.url + "/")
    s.page.wait_for_selector("#signin-username")
    s.page.evaluate(AXE_SCRIPT)
    r = s.page.evaluate("() => axe.run(document, {runOnly: {type:'rule', values:['color-contrast']}})")
    for v in r["violations"]:
        for n in v["nodes"]:
            print(n["html"], n["failureSummary"])
    s.sign_in(live_service.users["executive"])
    print(s.page.evaluate("() => [...document.querySelectorAll('[aria-hidden=true]')].filter(e => e.querySelector('input')).map(e => e.outerHTML.slice(0, 600))"))
    s.page.goto(live_service.url + "/team")
    s.page.wait_for_selector("#team-summary", timeout=60000)
    s.page.wait_for_load_state("networkidle")
    print(s.page.evaluate("() => [...document.querySelectorAll('[aria-hidden=true]')].filter(e => e.querySelector('[tabindex]')).map(e => e.outerHTML.slice(0, 300))"))
    s.page.goto(live_service.url + "/trends")
    s.page.wait_for_selector("#trends-body svg.xmr", timeout=60000)
    print(s.page.evaluate("() => [...document.querySelectorAll('h1,h2,h3,h4')].filter(h => h.offsetParent !== null).slice(0,8).map(h => h.tagName + ' ' + h.textContent.slice(0,60))"))

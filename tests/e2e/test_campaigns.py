"""Several campaigns at once, through one `sluice serve`: campaigns of equal
priority share a rate-limited site in turns, and a transactional campaign
goes before bulk to the same site. The site is the real Postfix receiver
(mx.ok.test), paced by a policy to 5 messages a second over one connection."""
import signal
import subprocess

import world as W
from conftest import SLUICE, merged, wait_for, yaml_text

CONFIG = {
    "inbound": {"listen": f"{W.INBOUND_IP}:25"},
    "retry": {"min_backoff": "1s", "max_backoff": "1s", "max_lifetime": "60s"},
}
POLICY = """policies:
  - domain: ok.test
    message_rate: 5/s
    max_connections: 1
"""


def start_serve(sender):
    cfg = sender.write("serve.yaml", yaml_text(merged(CONFIG), POLICY))
    p = subprocess.Popen([SLUICE, "serve", "--config", cfg, "--state", sender.state, "--force"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert W.wait_port(W.INBOUND_IP, 25) is not False
    return p


def queue(sender, name, users, priority="bulk"):
    sender.rows([[f"user{u}@ok.test", name, str(u)] for u in users])
    r = sender.run(config=CONFIG, extra_yaml=POLICY,
                   extra_args=("--campaign", name, "--priority", priority))
    assert r.rc == 4, r.err
    return r


def delivered(sender):
    """(campaign, recipient) of every delivery, in the order they happened."""
    return [(x["campaign"], x["recipient"]) for x in _log(sender)
            if x.get("outcome") == "delivered"]


def _log(sender):
    import json
    import os
    path = os.path.join(sender.state, "delivery.log")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]


def stop(p):
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=20)
    assert p.returncode == 0, err
    return err


def test_equal_campaigns_share_a_site_in_turns(world, sender):
    p = start_serve(sender)
    try:
        queue(sender, "alpha", range(100, 120))
        queue(sender, "beta", range(150, 170))
        assert wait_for(lambda: len(delivered(sender)) == 40, timeout=40), delivered(sender)
    finally:
        err = stop(p)
    order = [c for c, _ in delivered(sender)]
    first_beta = order.index("beta")
    window = order[first_beta:first_beta + 20]
    # once beta is there, the two take turns: neither starves the other
    assert window.count("alpha") >= 8 and window.count("beta") >= 8, order
    assert "delivering campaign beta" in err


def test_transactional_goes_before_bulk_to_the_same_site(world, sender):
    p = start_serve(sender)
    try:
        queue(sender, "bulk", range(200, 230))
        assert wait_for(lambda: len(delivered(sender)) >= 3, timeout=20)
        queue(sender, "receipts", range(250, 253), priority="transactional")
        assert wait_for(lambda: len(delivered(sender)) == 33, timeout=40), delivered(sender)
    finally:
        stop(p)
    order = [c for c, _ in delivered(sender)]
    last_receipt = max(i for i, c in enumerate(order) if c == "receipts")
    first_receipt = order.index("receipts")
    # the receipts went out together, long before the bulk campaign ended
    assert last_receipt - first_receipt == 2, order
    assert order[last_receipt + 1:].count("bulk") >= 10, order

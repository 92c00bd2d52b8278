#!/usr/bin/python3
"""A scripted SMTP receiver (aiosmtpd) for the faults a real server won't do on demand.

  fault_smtpd.py IP PORT MODE [LOGFILE]

MODE is the listener's character:
  esmtp     a normal ESMTP server with PIPELINING; faults chosen by recipient local part
  noesmtp   answers EHLO with 502: the client must fall back to HELO
  mail5xx   refuses every MAIL FROM with 550 5.7.1 (each logged, outcome "mail_refused")
  mail4xx   answers every MAIL FROM with 451 4.7.1
  cap3      closes the connection silently at the 4th MAIL FROM (large providers do)
  banner421 greets with 421 and hangs up
  ehlo421   answers EHLO (and HELO) with 421 and hangs up
  silent    accepts the connection and never says anything
  stalldot  a normal server that never answers the final dot (the message hangs)
  slowbyte  speaks SMTP one byte a second (a tarpit)
  rp001     a webmail-style throttler: past RP_LIMIT accepted messages per client IP
            in RP_WINDOW seconds, RCPT gets Outlook's "421 RP-001 ..." and the
            connection is closed (each refusal is logged with outcome "refused")
  webmail   the issue-12 receiver: rp001 with WM_LIMIT per WM_WINDOW seconds, and at
            most WM_CONNS connections per client IP: past that the greeting is
            "421 RP-001 ... too many connections" and a close (logged with outcome
            "conn_refused")

Recipient local parts (esmtp mode) that choose a fault:
  rcpt451-*   451 4.3.0 at RCPT          rcpt550-*  550 5.1.1 at RCPT
  data451-*   451 4.3.0 after the data   data554-*  554 5.7.1 after the data
  drop-*      connection dropped after the data, before the reply
  stall-*     no answer to RCPT for 30 s
  multi550-*  a three-line 550 5.1.1 reply at RCPT
  blsrc-*     from 127.0.0.10 only: "554 5.7.1 ... blocked using zen.spamhaus.org"
              at RCPT (logged with outcome "blocked"); accepted from other IPs
  rcptbl-*    451 4.7.1 "... blocked using bl.sluice.test" at RCPT (a DNSBL deferral)
  multi250-*  a three-line 250 reply after the data
  datacmd554-*, datacmd451-*  the DATA command itself is refused (no 354)
Anything else is accepted. Every transaction is logged as a JSON line to
LOGFILE (default: stdout) with peer, connection id, connections open at that
moment, helo, sender, recipients, outcome and data.
Listens on loopback only.
"""
import asyncio
import json
import sys
import time

from aiosmtpd.smtp import SMTP

LOG = sys.stdout
RP_LIMIT, RP_WINDOW = 20, 5.0
WM_LIMIT, WM_WINDOW, WM_CONNS = 30, 60.0, 3
ACCEPTED = {}  # client IP -> times of accepted messages (rp001 and webmail modes)
OPEN = 0  # connections open now: the client's concurrency, seen from here
OPEN_BY_IP = {}  # webmail: connections accepted per client IP
BLOCKED_SOURCE = "127.0.0.10"  # blsrc-*: a blocklist refusal for this client IP only


def log(session, envelope, outcome):
    rec = {
        "peer": session.peer[0] if session.peer else None,
        "conn": id(session),
        "open": OPEN,
        "helo": session.host_name,
        "mail_from": envelope.mail_from,
        "mail_options": envelope.mail_options,
        "rcpt_tos": envelope.rcpt_tos,
        "outcome": outcome,
        "data": envelope.original_content.decode("latin-1") if envelope.original_content else None,
    }
    LOG.write(json.dumps(rec) + "\n")
    LOG.flush()


def local_part(addr):
    return addr.split("@", 1)[0].lower()


class Handler:
    def __init__(self, mode):
        self.mode = mode

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        # advertise PIPELINING (aiosmtpd reads commands in order, so it is safe)
        return responses[:1] + ["250-PIPELINING"] + responses[1:]

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mode == "mail5xx":
            envelope.mail_from = address
            log(session, envelope, "mail_refused")
            envelope.mail_from = None
            return "550 5.7.1 Sender rejected by policy"
        if self.mode == "mail4xx":
            return "451 4.7.1 Sender temporarily rejected"
        if self.mode == "cap3":
            session.n_mail = getattr(session, "n_mail", 0) + 1
            if session.n_mail > 3:
                server.transport.abort()
                return "421 not sent"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        lp = local_part(address)
        if self.mode in ("rp001", "webmail"):
            limit, window = (RP_LIMIT, RP_WINDOW) if self.mode == "rp001" else (WM_LIMIT, WM_WINDOW)
            now = time.monotonic()
            seen = [t for t in ACCEPTED.get(session.peer[0], []) if now - t < window]
            ACCEPTED[session.peer[0]] = seen
            if len(seen) >= limit:
                envelope.rcpt_tos.append(address)
                log(session, envelope, "refused")
                asyncio.get_running_loop().call_later(0.05, server.transport.close)
                return ("421 RP-001 (BAY004-MC1F24) Unfortunately, some messages from %s "
                        "weren't sent. Please try again. We have limits for how many "
                        "messages can be sent per hour and per day." % session.peer[0])
        if lp.startswith("blsrc-") and session.peer[0] == BLOCKED_SOURCE:
            envelope.rcpt_tos.append(address)
            log(session, envelope, "blocked")
            envelope.rcpt_tos.remove(address)
            return ("554 5.7.1 Service unavailable; Client host [%s] blocked using "
                    "zen.spamhaus.org; https://www.spamhaus.org/query/ip/%s"
                    % (session.peer[0], session.peer[0]))
        if lp.startswith("rcpt451-"):
            return "451 4.3.0 Temporary recipient failure"
        if lp.startswith("rcptbl-"):  # a blocklist-style deferral (reputation_block)
            return ("451 4.7.1 Service unavailable; client host [%s] blocked using "
                    "bl.sluice.test" % session.peer[0])
        if lp.startswith("rcpt550-"):
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if lp.startswith("multi550-"):
            return ("550-5.1.1 The email account that you tried to reach does not exist.\r\n"
                    "550-5.1.1 Please try double-checking the recipient's email address\r\n"
                    "550 5.1.1 for typos or unnecessary spaces.")
        if lp.startswith("stall-"):
            await asyncio.sleep(30)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        lp = local_part(envelope.rcpt_tos[0]) if envelope.rcpt_tos else ""
        if self.mode == "stalldot":
            log(session, envelope, "stalled")
            await asyncio.sleep(3600)
        if lp.startswith("drop-"):
            log(session, envelope, "dropped")
            server.transport.abort()
            return "451 not sent"
        if lp.startswith("data451-"):
            log(session, envelope, "451")
            return "451 4.3.0 Try again later"
        if lp.startswith("data554-"):
            log(session, envelope, "554")
            return "554 5.7.1 Message content rejected"
        if lp.startswith("data552full-"):
            log(session, envelope, "552")
            return "552 5.2.2 <%s>: mailbox for user is full" % envelope.rcpt_tos[0]
        log(session, envelope, "250")
        if self.mode in ("rp001", "webmail"):
            ACCEPTED.setdefault(session.peer[0], []).append(time.monotonic())
        if lp.startswith("multi250-"):
            return "250-2.0.0 Ok\r\n250-queued as ABC123\r\n250 2.0.0 really"
        return "250 2.0.0 Ok: queued"


class FaultSMTP(SMTP):
    refused_at_greeting = False

    def connection_made(self, transport):
        global OPEN
        if self.event_handler.mode == "webmail":
            ip = transport.get_extra_info("peername")[0]
            if OPEN_BY_IP.get(ip, 0) >= WM_CONNS:
                self.refused_at_greeting = True
                LOG.write(json.dumps({"peer": ip, "conn": id(self), "open": OPEN,
                                      "rcpt_tos": [], "outcome": "conn_refused"}) + "\n")
                LOG.flush()
                transport.write(b"421 RP-001 (BAY004-MC1F24) Unfortunately, too many "
                                b"connections from your IP. Please try again later.\r\n")
                transport.close()
                return
            OPEN_BY_IP[ip] = OPEN_BY_IP.get(ip, 0) + 1
        OPEN += 1
        super().connection_made(transport)

    def connection_lost(self, exc):
        global OPEN
        if self.refused_at_greeting:
            return
        if self.event_handler.mode == "webmail" and self.session and self.session.peer:
            OPEN_BY_IP[self.session.peer[0]] -= 1
        OPEN -= 1
        super().connection_lost(exc)

    async def smtp_DATA(self, arg):
        lp = local_part(self.envelope.rcpt_tos[0]) if self.envelope.rcpt_tos else ""
        if lp.startswith("datacmd554-"):
            await self.push("554 5.7.1 Not accepting data from you")
            return
        if lp.startswith("datacmd451-"):
            await self.push("451 4.3.2 Not now")
            return
        await super().smtp_DATA(arg)


class NoEsmtp(FaultSMTP):
    async def smtp_EHLO(self, arg):
        await self.push("502 5.5.2 Error: command not recognized")


class Ehlo421(SMTP):
    async def smtp_EHLO(self, arg):
        await self.push("421 4.3.2 mx.faults.test shutting down")
        self.transport.close()

    smtp_HELO = smtp_EHLO


async def silent(reader, writer):
    await reader.read()  # until the client goes; never a word
    writer.close()


async def slowbyte(reader, writer):
    """A tarpit: every reply trickles out one byte a second."""
    async def say(text):
        for b in text.encode():
            writer.write(bytes([b]))
            await writer.drain()
            await asyncio.sleep(1)
    try:
        await say("220 slowbyte.test ESMTP\r\n")
        while True:
            line = await reader.readline()
            if not line:
                break
            await say("250 ok\r\n")
    except (ConnectionError, asyncio.CancelledError):
        pass
    writer.close()


async def banner421(reader, writer):
    writer.write(b"421 4.7.0 mx.faults.test Service not available, try later\r\n")
    await writer.drain()
    writer.close()


async def main():
    global LOG
    ip, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    if not ip.startswith("127."):
        sys.exit("fault_smtpd: loopback addresses only")
    if len(sys.argv) > 4:
        LOG = open(sys.argv[4], "a")
    loop = asyncio.get_running_loop()
    if mode in ("banner421", "silent", "slowbyte"):
        handler = {"banner421": banner421, "silent": silent, "slowbyte": slowbyte}[mode]
        server = await asyncio.start_server(handler, ip, port)
    else:
        cls = {"noesmtp": NoEsmtp, "ehlo421": Ehlo421}.get(mode, FaultSMTP)
        handler = Handler(mode)
        server = await loop.create_server(
            lambda: cls(handler, hostname="mx.faults.test", enable_SMTPUTF8=True), ip, port)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())

"""Modem emulator: SMS send (text/PDU, prompt, Ctrl-Z, ESC) and USSD (multi-line replies, menus, unknown)."""
import re

import pytest

from fixtures.emu import booted

pytestmark = pytest.mark.sim


@pytest.mark.parametrize("dialect", ["A7670", "SIM7600", "EC200U", "EG91"])
def test_sms_text_mode_logged(emulator, dialect):
    emu = emulator(dialect=dialect, powered=True)
    at = booted(emu)
    assert at.cmd("AT+CMGF=1").ok
    at.write(b'AT+CMGS="+6281299990000"\r')
    at.wait_for(b"> ")
    at.write(b"DARURAT: radio R-17 butuh bantuan\x1a")
    r = at.cmd(b"")
    assert r.ok and re.search(r"^\+CMGS: \d+$", r.line("+CMGS:"))
    assert emu.sms_log == [("+6281299990000", "DARURAT: radio R-17 butuh bantuan")]


def test_sms_escape_cancels_and_echo_shows_text(emulator):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu, setup=False)
    assert at.cmd("AT+CMGF=1").ok
    at.write(b'AT+CMGS="+628123"\r')
    at.wait_for(b"> ")
    at.write(b"never mind\x1b")
    assert at.cmd(b"").ok
    assert b"never mind" in at.seen            # echo on: the typed text came back
    assert emu.sms_log == []


def test_sms_needs_registration(emulator):
    emu = emulator(dialect="EC200U", powered=True)
    at = booted(emu)
    assert at.cmd("AT+CMGF=1;+CFUN=4").ok
    at.write(b'AT+CMGS="+628123"\r')
    at.wait_for(b"> ")
    at.write(b"x\x1a")
    assert at.cmd(b"").final == "+CMS ERROR: no network service"


def test_sms_pdu_mode(emulator):
    emu = emulator(dialect="SIM7600", powered=True)
    at = booted(emu)
    at.write(b"AT+CMGS=17\r")
    at.wait_for(b"> ")
    at.write(b"0011000B916128210000F00000AA05E8329BFD06\x1a")
    assert at.cmd(b"").ok
    assert emu.sms_log[0][0] == "<pdu>"


@pytest.mark.parametrize("dialect", ["A7670", "EG91"])
def test_ussd_multiline_balance(emulator, dialect):
    emu = emulator(dialect=dialect, powered=True,
                   ussd_replies={"*888#": "Sisa pulsa Rp7.250\nAktif sd 01/02/2027\nKuota 1,5 GB"})
    at = booted(emu)
    assert at.cmd('AT+CUSD=1,"*888#",15').ok
    urc = at.wait_for(re.compile(rb'\+CUSD: 0,"(.*?)",15\r\n', re.S))
    assert urc.group(1) == b"Sisa pulsa Rp7.250\r\nAktif sd 01/02/2027\r\nKuota 1,5 GB"


def test_ussd_menu_unknown_and_cancel(emulator):
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    assert at.cmd('AT+CUSD=1,"*363#",15').ok
    at.wait_for(b'+CUSD: 1,"1 Paket Internet')
    assert at.cmd('AT+CUSD=1,"*999#",15').ok
    at.wait_for(b"+CUSD: 4\r\n")
    assert at.cmd('AT+CUSD=1,"*888#",15;+CUSD=2').ok
    assert b"+CUSD: 0" not in at.drain(0.3)


def test_ussd_without_network_is_cme_30(emulator):
    emu = emulator(dialect="SIM7600", powered=True)
    at = booted(emu)
    assert at.cmd("AT+CFUN=4").ok
    assert at.cmd('AT+CUSD=1,"*888#",15').final == "+CME ERROR: no network service"


@pytest.mark.parametrize("dialect", ["A7670", "EC200U"])
def test_incoming_sms_read_list_delete(emulator, dialect):
    emu = emulator(dialect=dialect, powered=True)
    at = booted(emu)
    assert at.cmd("AT+CMGF=1").ok
    emu.fault("sms_incoming", number="+6281211112222", text="CONFIG talkgroup=DAMKAR")
    m = at.wait_for(re.compile(rb'\+CMTI: "SM",(\d+)\r\n'))
    idx = int(m.group(1))
    r = at.cmd("AT+CMGR=%d" % idx)
    assert r.ok and r.lines[0].startswith('+CMGR: "REC UNREAD","+6281211112222",""')
    assert r.lines[1] == "CONFIG talkgroup=DAMKAR"
    assert at.cmd("AT+CMGR=%d" % idx).lines[0].startswith('+CMGR: "REC READ"')
    emu.fault("sms_incoming", number="+628", text="second")
    at.wait_for(b"+CMTI:")
    r = at.cmd('AT+CMGL="REC UNREAD"')
    assert [ln for ln in r.lines if ln.startswith("+CMGL:")][0].split(",")[1] == '"REC UNREAD"'
    assert "second" in r.lines
    assert at.cmd('AT+CPMS?').line("+CPMS:").startswith('+CPMS: "SM",2,30')
    assert at.cmd("AT+CMGD=0,4").ok
    assert emu.state["sms_stored"] == 0
    assert at.cmd("AT+CMGR=%d" % idx).final == "+CMS ERROR: invalid memory index"


def test_incoming_sms_needs_text_mode_to_read(emulator):
    emu = emulator(dialect="SIM7600", powered=True)
    at = booted(emu)
    emu.fault("sms_incoming", text="x")
    at.wait_for(b"+CMTI:")
    assert at.cmd("AT+CMGR=0").final == "+CMS ERROR: operation not allowed"

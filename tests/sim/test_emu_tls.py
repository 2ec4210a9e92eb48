"""The emulator's TLS commands at the AT level (raw bytes, no firmware): the exact forms docs/MODEM.md relies on
- SIMCom CCERTDOWN '>' prompt, CCHSTART, CCHOPEN URC, CCHSEND, manual CCHRECV with OK *before* the data and the
closing +CCHRECV line, +CCH_PEER_CLOSED; Quectel QFUPL with CONNECT, QSSLOPEN URC, QSSLSEND, QSSLRECV; both
terminate real TLS (the echo server sees a TLS 1.2 session and counts bytes as ciphertext)."""
import re

import pytest

from fixtures.emu import booted

PAYLOAD = bytes(range(256)) + b"\r\nOK\r\n"


def _simcom_setup(at, ca_pem, auth=1):
    at.write(b'AT+CCERTDOWN="ca.pem",%d\r' % len(ca_pem))
    at.wait_for(b">")
    at.write(ca_pem)
    assert at.cmd(b"").ok
    assert '+CCERTLIST: "ca.pem"' in at.cmd("AT+CCERTLIST").lines
    for c in ('AT+CSSLCFG="sslversion",1,3', 'AT+CSSLCFG="authmode",1,%d' % auth, 'AT+CSSLCFG="cacert",1,"ca.pem"',
              'AT+CSSLCFG="enableSNI",1,1', "AT+CCHSET=1,1", "AT+CCHSSLCFG=0,1"):
        assert at.cmd(c).ok, c
    assert at.cmd("AT+CCHSTART").ok
    at.wait_for(b"+CCHSTART: 0")
    assert not at.cmd("AT+CCHSTART").ok          # already started


@pytest.mark.sim
def test_simcom_tls_session_at_level(emulator, tls_certs, tls_echo_server):
    certs = tls_certs()
    srv = tls_echo_server(certs)
    emu = emulator(dialect="A7670", powered=True)
    at = booted(emu)
    _simcom_setup(at, open(certs["ca"], "rb").read())
    assert at.cmd('AT+CCHOPEN=0,"127.0.0.1",%d,2' % srv.port).ok
    at.wait_for(b"+CCHOPEN: 0,0", timeout=30)
    assert '+CCHOPEN: 0,"127.0.0.1",%d,2' % srv.port in at.cmd("AT+CCHOPEN?").line("+CCHOPEN: 0,")
    at.write(b"AT+CCHSEND=0,%d\r" % len(PAYLOAD))
    at.wait_for(b">")
    at.write(PAYLOAD)
    assert at.cmd(b"").ok
    at.wait_for(b"+CCHSEND: 0,0")
    at.wait_for(b"+CCHEVENT: 0,RECV EVENT", timeout=30)
    got = bytearray()
    while len(got) < len(PAYLOAD):
        at.write(b"AT+CCHRECV=0,1024\r")
        at.wait_for(b"\r\nOK\r\n")                   # OK first ...
        m = at.wait_for(re.compile(rb"\+CCHRECV: (DATA,0,(\d+)|0,0)\r\n"))
        if m.group(2) is None:
            at.wait_for(b"+CCHEVENT: 0,RECV EVENT", timeout=30)
            continue
        k = int(m.group(2))
        while len(at.buf) < k:
            at.pump(0.05)
        got += at.buf[:k]
        del at.buf[:k]
        at.wait_for(b"+CCHRECV: 0,0\r\n")          # ... then the data, then the closing line
    assert bytes(got) == PAYLOAD and srv.handshakes == 1
    sock = [s for s in emu.state["sockets"].values() if s.get("tls")][0]
    assert sock["version"] == "TLSv1.2" and sock["plain_tx"] == len(PAYLOAD)
    assert sock["sent"] > len(PAYLOAD) + 29                 # records on the wire, not the plaintext
    srv.drop_all()
    at.wait_for(b"+CCH_PEER_CLOSED: 0", timeout=30)
    assert at.cmd("AT+CCHCLOSE=0").ok
    at.wait_for(b"+CCHCLOSE: 0,0")
    assert at.cmd("AT+CCHSTOP").ok


@pytest.mark.sim
def test_simcom_verify_without_a_ca_file_is_error_19(emulator, tls_certs, tls_echo_server):
    srv = tls_echo_server(tls_certs())
    emu = emulator(dialect="SIM7600", powered=True)
    at = booted(emu)
    _simcom_setup(at, b"-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n")
    assert at.cmd('AT+CCHOPEN=0,"127.0.0.1",%d,2' % srv.port).ok
    at.wait_for(re.compile(rb"\+CCHOPEN: 0,(15|19)"), timeout=30)
    assert srv.handshakes == 0


@pytest.mark.sim
def test_quectel_tls_session_at_level(emulator, tls_certs, tls_echo_server):
    certs = tls_certs()
    srv = tls_echo_server(certs)
    emu = emulator(dialect="EC200U", powered=True)
    at = booted(emu)
    ca = open(certs["ca"], "rb").read()
    at.write(b'AT+QFUPL="UFS:ca.pem",%d,60\r' % len(ca))
    at.wait_for(b"\r\nCONNECT\r\n")
    at.write(ca)
    r = at.cmd(b"")
    assert r.ok and r.line("+QFUPL:").startswith("+QFUPL: %d," % len(ca))
    assert at.cmd('AT+QFUPL="UFS:ca.pem",10,60').final.startswith("+CME ERROR")     # exists
    assert at.cmd('AT+QFLST="UFS:ca.pem"').line("+QFLST:") == '+QFLST: "UFS:ca.pem",%d' % len(ca)
    assert at.cmd('AT+QFLST="UFS:none.pem"').final.startswith("+CME ERROR")
    for c in ('AT+QSSLCFG="sslversion",1,3', 'AT+QSSLCFG="ciphersuite",1,0xFFFF', 'AT+QSSLCFG="seclevel",1,1',
              'AT+QSSLCFG="cacert",1,"UFS:ca.pem"', 'AT+QSSLCFG="sni",1,1'):
        assert at.cmd(c).ok, c
    assert at.cmd('AT+QSSLCFG="seclevel",1').line("+QSSLCFG:") == '+QSSLCFG: "seclevel",1,1'
    assert at.cmd("AT+QIACT=1").ok
    assert at.cmd('AT+QSSLOPEN=1,1,4,"127.0.0.1",%d,0' % srv.port).ok
    at.wait_for(b"+QSSLOPEN: 4,0", timeout=30)
    at.write(b"AT+QSSLSEND=4,%d\r" % len(PAYLOAD))
    at.wait_for(b"> ")
    at.write(PAYLOAD)
    assert at.cmd(b"").final == "SEND OK"
    at.wait_for(b'+QSSLURC: "recv",4', timeout=30)
    got = bytearray()
    while len(got) < len(PAYLOAD):
        at.write(b"AT+QSSLRECV=4,1500\r")
        k = int(at.wait_for(re.compile(rb"\+QSSLRECV: (\d+)\r\n")).group(1))
        while len(at.buf) < k + 6:
            at.pump(0.05)
        got += at.buf[:k]
        del at.buf[:k]
        at.wait_for(b"\r\nOK\r\n")
        if k == 0:
            at.wait_for(b'+QSSLURC: "recv",4', timeout=30)
    assert bytes(got) == PAYLOAD
    assert at.cmd("AT+QSSLSTATE=4").line("+QSSLSTATE:").startswith('+QSSLSTATE: 4,"SSLClient","127.0.0.1"')
    srv.drop_all()
    at.wait_for(b'+QSSLURC: "closed",4', timeout=30)
    assert at.cmd("AT+QSSLCLOSE=4,10").ok
    assert at.cmd("AT+QSSLSTATE=4").line("+QSSLSTATE:") is None

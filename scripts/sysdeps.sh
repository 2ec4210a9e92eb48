#!/usr/bin/env bash
# Installs the Debian packages the simulations and audio tests need, only when missing.
# mosquitto: the real MQTT broker for the sim tier; alsa-utils: ~11 s of real speech in /usr/share/sounds/alsa;
# libspandsp2: C reference for G.726; chromium + poppler-utils: rendered report and card; rabbitmq-server: the
# 3-node cluster the `cluster` tests and benches start (its own nodes on private loopback ports, htsim/rabbitmq.py).
# espeak-ng: sentences in Bahasa Indonesia and English for the voice front end's material (htsim/micsim.py).
set -eu
need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
[ -f /usr/share/sounds/alsa/Front_Center.wav ] || need+=(alsa-utils)
# libspandsp2: an ITU-conformant C G.726 coder, the reference our G.726 kernel is tested against.
ls /usr/lib/*/libspandsp.so.2 >/dev/null 2>&1 || need+=(libspandsp2)
# chromium: the fleet report and the quick-reference card are checked as rendered pages (screenshots, PDF);
# poppler-utils: pdfinfo/pdftoppm count and look at the card's pages.
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdfinfo >/dev/null 2>&1 || need+=(poppler-utils)
# rabbitmq-server (with its MQTT plugin): the adversarial clustered broker floor control is proven against.
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "Missing system packages: ${need[*]}. Run: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
echo "Installing system packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Debian starts a system-wide broker on 1883; our tests run their own on free ports, so stop it.
if command -v systemctl >/dev/null 2>&1; then systemctl stop mosquitto 2>/dev/null || true; fi
# Likewise the system-wide RabbitMQ node the package starts: the tests start their own nodes, with their own
# epmd; a system node would only hold 5672/25672/4369 and memory.
case " ${need[*]} " in *" rabbitmq-server "*)
  if command -v systemctl >/dev/null 2>&1; then
    systemctl stop rabbitmq-server 2>/dev/null || true
    systemctl disable rabbitmq-server 2>/dev/null || true
  fi
  command -v rabbitmqctl >/dev/null 2>&1 && timeout 30 rabbitmqctl -q stop >/dev/null 2>&1 || true
  # the epmd the system node started on the default port (4369), if any
  command -v epmd >/dev/null 2>&1 && epmd -kill >/dev/null 2>&1 || true
  ;;
esac

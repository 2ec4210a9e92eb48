# The sender epoch a radio puts in every voice frame (docs/FRAME.md): 24 bits, raised at every boot and at
# every wrap of the 16-bit frame sequence, so (epoch, sequence) never repeats and receivers can tell a
# rebooted radio (a later epoch: heard at once) from a recording of an earlier boot (refused).
# Kept in flash as the next epoch free to use. A boot takes the stored value and writes it + _LEASE before
# sending anything, so a reset at any moment never reuses an epoch; the wraps of this boot spend the lease,
# and the radio extends it (one flash write per 16 wraps = ~6 h of talk at 20 ms frames).
# No file (a new or erased radio): a random start. Receivers remember a source's epoch only in RAM; a
# random start is refused only by radios that heard this unit's earlier life and have not rebooted or
# forgotten it since (128 other talkers), and `htctl provision` keeps the file.
from ht.compat import const

EPOCH_FILE = "epoch"
_LEASE = const(16)
_MASK = const(0xFFFFFF)


class BootEpoch:
    # load() -> str | None, save(str): the file (None, None: nothing kept, a random epoch each time).
    def __init__(self, load=None, save=None, rng=None):
        self._save = save
        e = None
        if load is not None:
            try:
                t = load()
                e = int(t.strip()) & _MASK if t else None
            except (ValueError, AttributeError, OSError):
                e = None      # a damaged file: as if none
        if e is None:
            import random
            e = (rng or random).getrandbits(24)
        self.epoch = e
        self.lease = e
        self._extend(e)

    def _extend(self, e):
        self.lease = (e + _LEASE) & _MASK
        if self._save is not None:
            try:
                self._save("%d\n" % self.lease)
            except OSError:
                pass      # a full or read-only flash: the epoch still works for this boot

    def used(self, epoch):
        # The transmitter's current epoch (it advanced on sequence wraps): extend the lease before it runs out.
        if ((self.lease - epoch) & _MASK) <= 2:
            self._extend(epoch)

"""Per-variant random generators, bit for bit those of ``drawing.variant_rng``, made cheaply.

``variant_rng(run_seed, seed_id, index)`` is ``np.random.default_rng(int.from_bytes(sha256(
f"{run_seed}:{seed_id}:{index}")[:16], "little"))``. Building a Generator that way costs ~6 us,
most of it numpy's ``SeedSequence`` and ``PCG64`` seeding. ``VariantStreams`` does the same
arithmetic for a block of consecutive indices at once with numpy arrays and then only sets the
state of one reused ``Generator(PCG64)`` per call.

The arithmetic follows numpy (checked against numpy 2.4.6; the tests compare with
``variant_rng`` itself):

* ``SeedSequence(entropy)``: the entropy int becomes little-endian uint32 words
  (``_int_to_uint32_array``); a 128-bit int gives at most 4 words, the pool size, so
  ``mix_entropy`` fills missing high words with ``hashmix(0)``: the same as a zero word, and
  the result depends only on the 4 little-endian words of the 16 digest bytes. Then every pool
  word is mixed into every other one (``mix(mixer[dst], hashmix(mixer[src]))``). ``hashmix``
  multiplies its running constant by MULT_A on each call, in call order, whatever the data, so
  the constants of all 16 calls are fixed numbers.
* ``PCG64.__init__``: ``val = seed_seq.generate_state(4, np.uint64)`` (8 uint32 words from
  the pool cycled, hashed with INIT_B/MULT_B, paired little-endian), then
  ``pcg64_set_seed(initstate = val[0] << 64 | val[1], initseq = val[2] << 64 | val[3])``,
  which is PCG's ``srandom_r``: ``inc = initseq << 1 | 1``, ``state = 0``, step,
  ``state += initstate``, step; a step is ``state = state * MULT + inc`` (mod 2**128). So
  ``state = (inc + initstate) * MULT + inc``.

A variant's draw reads only ``random()`` and small ``integers(n)`` from its generator (the
built-in rules' ``Choices``), a dozen or so 64-bit outputs. ``VariantStreams.stream`` gives
those reads without numpy's per-call cost (0.2 and 0.85 us a call, 1.9 us to set a state),
from the first outputs of a block of generators worked out at once (``pcg64_outputs``):

* an output (``random_raw``, ``pcg64_random_r``) steps the state, then returns its XSL-RR
  mix: ``rotr64(hi ^ lo, hi >> 58)`` of the new state's high and low halves;
* ``random()`` is ``(output >> 11) * 2**-53``;
* ``integers(n)`` for ``1 < n < 2**32`` is Lemire's method on 32-bit draws
  (``buffered_bounded_lemire_uint32``): ``m = u32 * n``, redrawn while ``m % 2**32`` is
  below ``(2**32 - n) % n``, result ``m >> 32``; ``n == 1`` reads nothing. A 32-bit draw
  is the low half of a new output, whose high half the next 32-bit draw then takes
  (``pcg64_next32``'s ``has_uint32``); ``random()`` leaves that half waiting.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import numpy as np

__all__ = ["DrawStream", "StreamColumns", "VariantStreams"]

_M32 = 0xFFFFFFFF
_M64 = (1 << 64) - 1

# numpy/random/bit_generator.pyx
_INIT_A = 0x43B0D7E5
_MULT_A = 0x931E8875
_INIT_B = 0x8B51F9DD
_MULT_B = 0x58F38DED
_MIX_MULT_L = 0xCA01F9DD
_MIX_MULT_R = 0x4973F715
_XSHIFT = 16
_POOL = 4

# numpy/random/src/pcg64/pcg64.h: PCG_DEFAULT_MULTIPLIER_128
_PCG_MULT = (2549297995355413924 << 64) + 4865540595714422341
_PCG_MULT_LO = _PCG_MULT & _M64
_PCG_MULT_HI = _PCG_MULT >> 64


def _hash_constants(init: int, mult: int, calls: int) -> tuple[np.ndarray, np.ndarray]:
    """(xor, multiplier) of each call of a hash whose constant is multiplied by ``mult`` per call."""
    xors, mults = [], []
    const = init
    for _ in range(calls):
        xors.append(const)
        const = const * mult & _M32
        mults.append(const)
    return np.array(xors, dtype=np.uint32), np.array(mults, dtype=np.uint32)


# mix_entropy: 4 hashmix calls filling the pool, then 3 per source word (12): 16 in all.
_A_XOR, _A_MULT = _hash_constants(_INIT_A, _MULT_A, _POOL + _POOL * (_POOL - 1))
# generate_state(4, uint64): 8 uint32 words.
_B_XOR, _B_MULT = _hash_constants(_INIT_B, _MULT_B, 8)
_OTHERS = [[d for d in range(_POOL) if d != s] for s in range(_POOL)]


def _mulhi64(x: np.ndarray, y: np.ndarray | np.uint64) -> np.ndarray:
    """High 64 bits of the 128-bit products x * y (uint64 arrays, broadcast, or a scalar y)."""
    x0, x1 = x & _M32, x >> np.uint64(32)
    y0, y1 = y & _M32, y >> np.uint64(32)
    p00, p01, p10, p11 = x0 * y0, x0 * y1, x1 * y0, x1 * y1
    mid = (p00 >> np.uint64(32)) + (p01 & _M32) + (p10 & _M32)
    return p11 + (p01 >> np.uint64(32)) + (p10 >> np.uint64(32)) + (mid >> np.uint64(32))


def _mul128(x_lo: np.ndarray, x_hi: np.ndarray, y_lo: np.ndarray | np.uint64, y_hi: np.ndarray | np.uint64
            ) -> tuple[np.ndarray, np.ndarray]:
    """x * y (mod 2**128), each in 64-bit halves (uint64, broadcast): (low, high)."""
    return x_lo * y_lo, _mulhi64(x_lo, y_lo) + x_lo * y_hi + x_hi * y_lo


def _add128(x_lo: np.ndarray, x_hi: np.ndarray, y_lo: np.ndarray, y_hi: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """x + y (mod 2**128), each in 64-bit halves (uint64, broadcast): (low, high)."""
    lo = x_lo + y_lo
    return lo, x_hi + y_hi + (lo < x_lo)


def pcg64_states(entropy: np.ndarray) -> np.ndarray:
    """PCG64 states of ``PCG64(int)`` for rows of 4 little-endian uint32 entropy words.

    ``entropy`` is (n, 4) uint32; returns (n, 4) uint64 ``[state_lo, state_hi, inc_lo, inc_hi]``.
    """
    n = entropy.shape[0]
    # mix_entropy: pool[i] = hashmix(entropy[i]) ...
    pool = np.array(entropy.T, dtype=np.uint32, order="C")  # a copy: updated in place
    pool ^= _A_XOR[:_POOL, None]
    pool *= _A_MULT[:_POOL, None]
    pool ^= pool >> _XSHIFT
    # ... then mixer[dst] = mix(mixer[dst], hashmix(mixer[src])) for each src, dst != src. The
    # three updates of one src read only mixer[src], which they do not change: one array step.
    call = _POOL
    for src in range(_POOL):
        others = _OTHERS[src]
        h = pool[src] ^ _A_XOR[call:call + 3, None]
        h *= _A_MULT[call:call + 3, None]
        h ^= h >> _XSHIFT
        call += 3
        mixed = pool[others] * np.uint32(_MIX_MULT_L) - h * np.uint32(_MIX_MULT_R)
        mixed ^= mixed >> _XSHIFT
        pool[others] = mixed
    # generate_state(4, np.uint64): 8 words from the pool cycled, paired little-endian.
    words = pool[[0, 1, 2, 3, 0, 1, 2, 3]]
    words ^= _B_XOR[:, None]
    words *= _B_MULT[:, None]
    words ^= words >> _XSHIFT
    w64 = words.astype(np.uint64)
    val = w64[0::2] | (w64[1::2] << np.uint64(32))
    seed_hi, seed_lo, seq_hi, seq_lo = val[0], val[1], val[2], val[3]
    # srandom_r: inc = initseq << 1 | 1; state = (inc + initstate) * MULT + inc (mod 2**128).
    inc_hi = (seq_hi << np.uint64(1)) | (seq_lo >> np.uint64(63))
    inc_lo = (seq_lo << np.uint64(1)) | np.uint64(1)
    a_lo, a_hi = _add128(inc_lo, inc_hi, seed_lo, seed_hi)
    p_lo, p_hi = _mul128(a_lo, a_hi, np.uint64(_PCG_MULT_LO), np.uint64(_PCG_MULT_HI))
    out = np.empty((n, 4), dtype="<u8")
    out[:, 0], out[:, 1] = _add128(p_lo, p_hi, inc_lo, inc_hi)
    out[:, 2] = inc_lo
    out[:, 3] = inc_hi
    return out


def pcg64_outputs(states: np.ndarray, count: int) -> np.ndarray:
    """The first ``count`` outputs (``random_raw``) of PCG64 generators in ``states``: (n, 4)
    uint64 rows ``[state_lo, state_hi, inc_lo, inc_hi]`` as ``pcg64_states`` gives; (n,
    count) uint64. A small block's all at once (``_outputs_at_once``), a large one's column
    after column (``_outputs_stepped``), whichever is quicker."""
    if len(states) * count <= AT_ONCE:
        return _outputs_at_once(states, count)
    return _outputs_stepped(states, count)


# Outputs (rows x columns) up to which ``pcg64_outputs`` works them out at once: there a
# seed's first block of 64 streams x 20 outputs took 0.10-0.18 ms against ~1 ms column
# after column, about even at 256 x 40, and at 1024 x 20 2.9 ms against 0.95 (the
# (rows, columns) temporaries leave the cache).
AT_ONCE = 8192


def _outputs_stepped(states: np.ndarray, count: int) -> np.ndarray:
    """``pcg64_outputs`` one column at a time: every generator stepped, then its output."""
    lo, hi = states[:, 0].copy(), states[:, 1].copy()
    inc_lo, inc_hi = states[:, 2], states[:, 3]
    out = np.empty((len(states), count), dtype=np.uint64)
    mult_lo, mult_hi = np.uint64(_PCG_MULT_LO), np.uint64(_PCG_MULT_HI)
    for k in range(count):
        lo, hi = _add128(*_mul128(lo, hi, mult_lo, mult_hi), inc_lo, inc_hi)  # state * MULT + inc
        out[:, k] = _xsl_rr(lo, hi)
    return out


def _outputs_at_once(states: np.ndarray, count: int) -> np.ndarray:
    """``pcg64_outputs`` in one pass over a (rows, count) array. The state after ``k`` steps
    is ``MULT**k * state + (MULT**(k-1) + ... + 1) * inc`` (mod 2**128), so each output is
    worked out from the two constants of its column (``_step_constants``): a few dozen
    array operations whatever ``count``, where stepping takes ~15 a column."""
    a_lo, a_hi, c_lo, c_hi = _step_constants(count)
    s_lo, s_hi = states[:, 0, None], states[:, 1, None]
    i_lo, i_hi = states[:, 2, None], states[:, 3, None]
    # MULT**k * state + C_k * inc (mod 2**128)
    return _xsl_rr(*_add128(*_mul128(s_lo, s_hi, a_lo, a_hi), *_mul128(i_lo, i_hi, c_lo, c_hi)))


def _xsl_rr(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """PCG64's outputs of stepped states (halves ``lo``, ``hi``): XSL-RR, the xor of the
    halves rotated right by the state's top 6 bits (a rotation by 0 ORs x with itself)."""
    x = hi ^ lo
    rot = hi >> np.uint64(58)
    return (x >> rot) | (x << ((np.uint64(64) - rot) & np.uint64(63)))


@lru_cache(maxsize=64)
def _step_constants(count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For k = 1 .. ``count``: the low and high halves of ``MULT**k`` and of ``MULT**(k-1) +
    ... + MULT + 1`` (mod 2**128), each as a row (1, count) of uint64."""
    mults, adds = [], []
    mult, add = 1, 0
    for _ in range(count):
        mult, add = mult * _PCG_MULT & _M128, (add * _PCG_MULT + 1) & _M128
        mults.append(mult)
        adds.append(add)

    def halves(values: list[int]) -> tuple[np.ndarray, np.ndarray]:
        lo = np.array([v & _M64 for v in values], dtype=np.uint64).reshape(1, count)
        hi = np.array([v >> 64 for v in values], dtype=np.uint64).reshape(1, count)
        lo.flags.writeable = hi.flags.writeable = False
        return lo, hi

    return (*halves(mults), *halves(adds))


def _step(state: int, inc: int) -> int:
    return (state * _PCG_MULT + inc) & _M128


def _output(state: int) -> int:
    """XSL-RR of a (stepped) 128-bit state."""
    hi, lo = state >> 64, state & _M64
    x, rot = hi ^ lo, hi >> 58
    return ((x >> rot) | (x << ((64 - rot) & 63))) & _M64


class DrawStream:
    """One variant's stream (that of ``drawing.variant_rng``) for ``random()`` and
    ``integers(n)``, read from its first outputs, worked out with its block
    (``VariantStreams.stream``); past them it steps the state itself.

    ``generator()`` hands the stream over: numpy's Generator at the same place, for any
    other use (a plugin rule's ``sample``); the stream must not be read after it.
    """

    __slots__ = ("_outs", "_at", "_waiting", "_upper", "_state", "_inc", "_gen")

    def __init__(self, outs: list[int], state: int, inc: int, gen: np.random.Generator) -> None:
        self._outs = outs  # the first outputs (the block's list: later ones are appended)
        self._at = 0  # outputs read
        # The high half of the last output a 32-bit draw split, and whether it waits for the
        # next one (numpy's ``uinteger`` and ``has_uint32``)
        self._upper, self._waiting = 0, False
        self._state, self._inc = state, inc  # the state before any output
        self._gen = gen

    def _next(self) -> int:
        try:
            x = self._outs[self._at]
        except IndexError:
            x = self._more()
        self._at += 1
        return x

    def _more(self) -> int:
        """Output ``_at``, past the ones worked out: this and the next few stepped here
        (~1 us an output)."""
        if self._at < 0:
            raise RuntimeError("this stream was handed over to its generator()")
        state, inc, outs = self._state, self._inc, self._outs
        for _ in range(len(outs)):
            state = _step(state, inc)
        while len(outs) <= self._at + _MORE:
            state = _step(state, inc)
            outs.append(_output(state))
        return outs[self._at]

    def random(self) -> float:
        """``Generator.random()``: a float in [0, 1)."""
        return (self._next() >> 11) * _DOUBLE_UNIT

    def integers(self, n: int) -> int:
        """``Generator.integers(n)`` for an int ``1 <= n < 2**32``: an int in [0, n)."""
        if type(n) is not int or not 1 <= n < 1 << 32:
            raise ValueError(f"integers(n) needs an int 1 <= n < 2**32, not {n!r}")
        if n == 1:
            return 0
        m = self._u32() * n
        if m & _M32 < n:
            threshold = (_M32 - (n - 1)) % n
            while m & _M32 < threshold:
                m = self._u32() * n
        return m >> 32

    def _u32(self) -> int:
        if self._waiting:
            self._waiting = False
            return self._upper
        x = self._next()
        self._upper, self._waiting = x >> 32, True
        return x & _M32

    def generator(self) -> np.random.Generator:
        """numpy's Generator (the one ``VariantStreams`` shares) set to this stream's place."""
        if self._at < 0:
            raise RuntimeError("this stream was handed over to its generator() already")
        state = self._state
        for _ in range(self._at):
            state = _step(state, self._inc)
        self._gen.bit_generator.state = {
            "bit_generator": "PCG64", "state": {"state": state, "inc": self._inc},
            "has_uint32": int(self._waiting), "uinteger": self._upper}
        self._outs, self._at = [], -1  # spent: a later read finds no output and raises in _more
        return self._gen


class StreamColumns:
    """The streams of a block of variants read side by side, one row a variant: what each
    row's ``DrawStream`` would give, for many rows in one numpy call.

    ``random(rows)`` and ``integers(rows, n)`` read, for each row in ``rows`` (distinct row
    numbers), the next value of that row's stream, as ``DrawStream.random()`` and
    ``integers(n)`` would (Lemire's redraws and the waiting high halves of 32-bit draws
    included); a row's reads happen in call order, whatever the other rows do. The first
    ``width`` outputs of every row are worked out at once; a row that reads past them has all
    rows' outputs worked out again, twice as many.
    """

    def __init__(self, states: np.ndarray, width: int) -> None:
        self._states = states  # pcg64_states rows
        self._out = pcg64_outputs(states, max(width, 1))
        self._at = np.zeros(len(states), dtype=np.intp)  # outputs each row has read
        self._waiting = np.zeros(len(states), dtype=bool)  # as DrawStream's
        self._upper = np.zeros(len(states), dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._states)

    def random(self, rows: np.ndarray) -> np.ndarray:
        """``Generator.random()`` of each row: float64 in [0, 1)."""
        return (self._take(rows) >> np.uint64(11)).astype(np.float64) * _DOUBLE_UNIT

    def integers(self, rows: np.ndarray, n: np.ndarray) -> np.ndarray:
        """``Generator.integers(n[k])`` of row ``rows[k]``, for ``1 < n[k] < 2**32``: uint64."""
        n = n.astype(np.uint64)
        m = self._u32(rows) * n
        redo = (m & _U32) < n
        if redo.any():
            threshold = (_U32 - (n - np.uint64(1))) % n
            redo &= (m & _U32) < threshold
            while redo.any():
                at = np.flatnonzero(redo)
                m[at] = self._u32(rows[at]) * n[at]
                redo[at] = (m[at] & _U32) < threshold[at]
        return m >> np.uint64(32)

    def _take(self, rows: np.ndarray) -> np.ndarray:
        """Each row's next output."""
        at = self._at[rows]
        if len(at) and int(at.max()) >= self._out.shape[1]:
            self._out = pcg64_outputs(self._states, 2 * (int(at.max()) + 1))
        self._at[rows] = at + 1
        return self._out[rows, at]

    def _u32(self, rows: np.ndarray) -> np.ndarray:
        """Each row's next 32-bit draw (uint64): a waiting high half, else the low half of a new
        output whose high half then waits."""
        waiting = self._waiting[rows]
        out = np.empty(len(rows), dtype=np.uint64)
        held = rows[waiting]
        out[waiting] = self._upper[held]
        self._waiting[held] = False
        fresh = rows[~waiting]
        x = self._take(fresh)
        self._upper[fresh] = x >> np.uint64(32)
        self._waiting[fresh] = True
        out[~waiting] = x & _U32
        return out


_U32 = np.uint64(_M32)
_M128 = (1 << 128) - 1
_MORE = 7  # outputs stepped past the one asked for when a stream runs beyond its first ones
_DOUBLE_UNIT = 1.0 / 9007199254740992.0  # 2**-53, numpy's next_double


def _state_dict(state: int, inc: int) -> Any:
    """The ``PCG64.state`` dict of a fresh generator (typed Any: numpy's stubs name its
    TypedDict privately)."""
    return {"bit_generator": "PCG64", "state": {"state": state, "inc": inc},
            "has_uint32": 0, "uinteger": 0}


class VariantStreams:
    """The generators ``variant_rng(run_seed, seed_id, index)`` of one seed, cheaply.

    ``rng(index)`` returns a Generator whose stream (every ``random()``, ``integers()``,
    ``choice()``, ... and ``bit_generator.state``) equals that of a fresh
    ``drawing.variant_rng(run_seed, seed_id, index)``.

    The returned Generator is ONE object reused by every call on this instance: it is valid only
    until the next ``rng()`` call, which overwrites its state (use it within one variant; do not
    keep it, do not use it from two threads). Its ``bit_generator.seed_seq`` is not the
    variant's, so ``spawn()`` on it differs from ``variant_rng``'s.

    Setting the state through ``bit_generator.state`` costs ~1 us of the ~1.8 us a call
    takes (against ~7 us for ``variant_rng``); writing it into the object's memory would save
    that microsecond but tie the code to numpy's private layout, so it is not done.

    Indices may be asked in any order. Consecutive ones (``index`` equal to the end of the last
    computed block, e.g. 0, 1, 2, ...) are computed in blocks growing from ``min_block`` to
    ``max_block``; any other index is seeded one at a time through ``np.random.PCG64`` (about
    the cost of ``variant_rng``) and starts a new run of blocks after it.
    """

    def __init__(self, run_seed: int, seed_id: str, *, min_block: int = 64, max_block: int = 1024,
                 outputs: int = 16) -> None:
        if not 1 <= min_block <= max_block:
            raise ValueError("need 1 <= min_block <= max_block")
        if outputs < 0:
            raise ValueError("need outputs >= 0")
        self.run_seed = run_seed
        self.seed_id = seed_id
        self._prefix = f"{run_seed}:{seed_id}:"
        self._hasher = hashlib.sha256(self._prefix.encode())
        self._min_block, self._max_block = min_block, max_block
        self._bitgen = np.random.PCG64(0)
        self._gen = np.random.Generator(self._bitgen)
        self._lo = self._hi = 0          # the block covers indices [lo, hi)
        self._next = min_block           # size of the next consecutive block
        self._ints: list[tuple[int, int]] = []  # (state, inc) per index of the block
        self._states = np.zeros((0, 4), dtype=np.uint64)  # the same as pcg64_states rows
        self._outputs = outputs  # first outputs worked out per index for ``stream``
        self._outs: list[list[int]] | None = None  # the block's, once a stream asks

    def stream(self, index: int) -> DrawStream:
        """Variant ``index``'s stream as a ``DrawStream``: ``random()`` and ``integers(n)``
        read as from ``rng(index)``, without numpy's per-call cost, from its first
        ``outputs`` worked out with its block. Valid until the next ``rng()`` or
        ``stream()`` call (its ``generator()`` is the shared Generator)."""
        at = self._in_block(index)
        if at is None:
            start = self._single(index).bit_generator.state["state"]
            return DrawStream([], start["state"], start["inc"], self._gen)
        if self._outs is None:
            self._outs = pcg64_outputs(self._states, self._outputs).tolist()
        return DrawStream(self._outs[at], *self._ints[at], self._gen)

    def rng(self, index: int) -> np.random.Generator:
        """The shared Generator, set to variant ``index``'s stream; valid until the next call."""
        at = self._in_block(index)
        if at is None:
            return self._single(index)
        self._bitgen.state = _state_dict(*self._ints[at])
        return self._gen

    def _in_block(self, index: Any) -> int | None:
        """``index``'s place in the block, the next block worked out when ``index`` starts
        it; None for an index out of the run (seeded alone: ``_single``)."""
        if type(index) is int and self._lo <= index < self._hi:
            return int(index - self._lo)
        if type(index) is int and index == self._hi:
            self._fill(index)
            return 0
        return None

    def columns(self, start: int, size: int) -> StreamColumns:
        """The streams of variants ``start .. start + size - 1`` side by side, row ``k`` that
        of variant ``start + k`` (``StreamColumns``); independent of this object's other calls."""
        return StreamColumns(self._block_states(start, size), self._outputs)

    def _block_states(self, start: int, size: int) -> np.ndarray:
        """``pcg64_states`` rows of variants ``start .. start + size - 1``."""
        copy = self._hasher.copy

        def digest(i: int) -> bytes:
            h = copy()
            h.update(b"%d" % i)
            return h.digest()

        raw = b"".join(map(digest, range(start, start + size)))
        return pcg64_states(np.frombuffer(raw, dtype="<u4").reshape(size, 8)[:, :_POOL])

    def _fill(self, start: int) -> None:
        """Compute the states of the block [start, start + next size)."""
        size = self._next
        self._next = min(2 * size, self._max_block)
        self._states = self._block_states(start, size)
        self._ints = [(s_hi << 64 | s_lo, i_hi << 64 | i_lo)
                      for s_lo, s_hi, i_lo, i_hi in self._states.tolist()]
        self._outs = None
        self._lo, self._hi = start, start + size

    def _single(self, index: Any) -> np.random.Generator:
        """Out-of-run index: seed exactly as ``variant_rng`` does, then continue with blocks after it."""
        digest = hashlib.sha256(f"{self._prefix}{index}".encode()).digest()
        self._bitgen.state = np.random.PCG64(int.from_bytes(digest[:16], "little")).state
        if type(index) is int:
            self._lo = self._hi = index + 1
            self._ints, self._states, self._outs = [], self._states[:0], None
            self._next = self._min_block
        return self._gen

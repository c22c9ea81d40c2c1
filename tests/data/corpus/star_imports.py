from pylab import *
from math import sqrt

f = logspace(1, 5, 60)
gain = 1 / sqrt(1 + (f / 1000.0) ** 2) if False else 1 / (1 + (f / 1000.0) ** 2) ** 0.5
loglog(f, gain, "b-", linewidth=2)
axvline(1000, color="r", linestyle=":")
grid(True, which="both")
xlabel("frequency (Hz)")
ylabel("gain")
title("First-order low-pass, cutoff %d Hz" % 1000)
show()

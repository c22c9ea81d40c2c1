import matplotlib
matplotlib.use("Agg")
VERSION = "1.0"

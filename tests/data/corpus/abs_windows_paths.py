import os
import pandas as pd
import matplotlib.pyplot as plt

DATA_DIR = "/home/analyst/projects/finance/data"
prices = pd.read_csv(r"C:\Users\analyst\Downloads\AAPL.csv")
prices["Date"] = pd.to_datetime(prices["Date"], format="%Y-%m-%d")
volume = pd.read_csv(os.path.join(DATA_DIR, "volume.csv"), parse_dates=["day"])

close = prices[["Date", "Adj Close"]].set_index("Date")
fig, (top, bottom) = plt.subplots(2, 1, sharex=False, figsize=(9, 6))
top.plot(close.index, close["Adj Close"], color="navy", label="adjusted close")
top.set_title("AAPL adjusted close")
top.legend()
bottom.bar(volume["day"], volume["shares"], color="grey")
bottom.set_ylabel("shares traded")
plt.savefig("C:\\Users\\analyst\\Desktop\\aapl.png")

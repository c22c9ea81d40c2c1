import pandas as pd
import matplotlib.pyplot as plt

df = pd.read_csv("data/sales_2023.csv")
df["revenue"] = df["units"] * df["price"]
monthly = df.groupby("month")["revenue"].sum()
fig, ax = plt.subplots(figsize=(8, 4))
ax.bar(monthly.index, monthly.values, color="steelblue")
ax.set_title("Revenue per month")
ax.set_xlabel("Month")
plt.savefig("out/revenue.png")
plt.close()

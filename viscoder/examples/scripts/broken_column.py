"""A typical model mistake: plotting a column that does not exist (fails with KeyError)."""
import pandas as pd

df = pd.DataFrame({"price": [1, 2, 3], "volume": [10, 20, 15]})
df.plot(x="date", y="price")

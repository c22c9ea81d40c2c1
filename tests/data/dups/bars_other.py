import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

df = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
sns.barplot(data=df, x="b", y="a", palette="Set2")
plt.title("Bars")
plt.show()

import pandas as pd
import seaborn as sns
import matplotlib.pyplot as plt

staff = pd.read_excel("C:/HR/staff_2022.xlsx", sheet_name="people")
staff = staff.dropna(subset=["salary"])
women = staff[staff["gender"] == "Female"]
print(women.department.str.upper().unique())
by_dept = staff.groupby("department")["salary"].mean().sort_values()

events = pd.read_json("https://example.org/events.json")
events["kind"] = events["title"].str.lower().str.split().str[0]

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
by_dept.plot(kind="barh", ax=axes[0], color="teal")
axes[0].set_title("Mean salary by department")
sns.countplot(data=events, x="kind", ax=axes[1])
axes[1].set_title("Events by kind")
plt.tight_layout()
plt.show()

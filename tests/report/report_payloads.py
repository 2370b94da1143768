"""Strings that would run if a report ever emitted them as markup (used by every report test)."""

TOKEN = "<script>alert(1)</script>"  # a token
COLUMN = "<img src=x onerror=alert(1)>"  # a column name
LABEL = "<script>window.__xss=1</script>"  # a class label
ATTRIBUTE = '"><img src=x onerror="window.__xss=2">'  # breaks out of a quoted attribute
HOSTILE = (TOKEN, COLUMN, LABEL, ATTRIBUTE)

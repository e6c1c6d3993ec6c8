"""One error hierarchy; each error knows its HTTP status, the API turns it into problem+json."""

from __future__ import annotations


class LocatorError(Exception):
    """Base of every error the locator raises on purpose."""

    status = 500
    title = "Internal error"
    type_slug = "internal-error"

    def __init__(self, detail: str, *, parameter: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.parameter = parameter


class InvalidParameter(LocatorError):
    """A query parameter is missing, malformed or out of range."""

    status = 400
    title = "Invalid parameter"
    type_slug = "invalid-parameter"


class NotFound(LocatorError):
    """A postcode, place or office that the data does not know."""

    status = 404
    title = "Not found"
    type_slug = "not-found"


class DataError(LocatorError):
    """A data file is unreadable or fails validation; names file, row and field."""

    status = 500
    title = "Data error"
    type_slug = "data-error"

    def __init__(
        self, path: object, detail: str, *, line: int | None = None, field: str | None = None
    ) -> None:
        where = str(path)
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {detail}")
        self.path = path
        self.line = line
        self.field = field


class ConfigError(LocatorError):
    """A LOCATOR_* setting is malformed."""

    status = 500
    title = "Configuration error"
    type_slug = "config-error"

"""The JSON request parser of the API."""

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """Parse a JSON body; a body nested too deep is malformed, not a crash."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            # The standard library's decoder recurses once per nesting level
            # and DRF only turns ValueError into a ParseError, so a small body
            # of "[[[[..." (100 KB of brackets) would otherwise be a 500. No
            # request of this API nests more than a few levels.
            raise ParseError(
                "JSON parse error - the body is nested too deeply."
            ) from exc

package inventory_test

import (
	"errors"

	"github.com/stararena/stararena/internal/apperr"
)

func asAppErr(err error, target **apperr.Error) bool { return errors.As(err, target) }

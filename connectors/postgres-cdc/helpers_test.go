package postgrescdc

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"strconv"
)

func md5hex(i int) string {
	s := md5.Sum([]byte(strconv.Itoa(i)))
	return hex.EncodeToString(s[:])
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

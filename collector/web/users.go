package web

// The users page (/admin/users): the list and adding a user; the actions
// on one user are in accounts.go.

import (
	"net/http"
	"strings"

	"github.com/outpost-nms/outpost/collector/inventory"
)

type usersData struct {
	Users   []inventory.User
	Error   string
	Created string
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) {
	users, err := s.o.DB.Users(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "users", usersData{Users: users})
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	d := usersData{}
	err := s.o.DB.CreateUser(r.Context(), name, r.PostFormValue("password"), inventory.Role(r.PostFormValue("role")), s.o.Clock())
	code := http.StatusOK
	if err != nil {
		d.Error = err.Error()
		code = http.StatusBadRequest
	} else {
		d.Created = name
		s.log.Info("user created", "user", name, "by", principalOf(r).User.Name)
	}
	users, err := s.o.DB.Users(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Users = users
	s.render(w, r, code, "users", d)
}
